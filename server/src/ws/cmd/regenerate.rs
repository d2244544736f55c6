//! `regenerate` (contract §3.2): a new reply to the conversation's last user
//! message, optionally with edited text; answered like `message`.

use engine::chat::{Redo, Via};
use protocol::frames::{RegenerateFrame, ServerFrame};

use crate::ws::connection::{Caller, Connection, Flow};

pub(in crate::ws) async fn apply(r: RegenerateFrame, conn: &Connection, caller: &Caller) -> Flow {
    let engine = conn.engine();
    let client_id = r.client_id.clone();
    let redo = Redo {
        client_id: r.client_id,
        edit: r.content,
    };
    let (who, sid, via) = (&caller.who, &r.session_id, Via::Frame);
    let (origin, ip) = (Some(caller.conn), Some(conn.ip()));
    let result = engine.exchange.regenerate(who, sid, redo, origin, ip, via).await;
    match result {
        Ok(ack) => conn.send_frame(ServerFrame::Ack(ack)).await,
        Err(e) => conn.error(&e, client_id).await,
    }
}
