//! `regenerate` (contract §3.2): a new reply to the conversation's last user
//! message, optionally with edited text; answered like `message`.

use engine::chat::{Redo, Surface};
use protocol::frames::{RegenerateFrame, ServerFrame};

use crate::ws::connection::{Caller, Conn, Flow};

pub(in crate::ws) async fn apply(r: RegenerateFrame, conn: &Conn, caller: &Caller) -> Flow {
    let engine = conn.engine();
    let client_id = r.client_id.clone();
    let redo = Redo {
        client_id: r.client_id,
        edit: r.content,
    };
    let (who, sid, surface) = (&caller.who, &r.session_id, Surface::Frame);
    let (origin, ip) = (Some(caller.conn), Some(conn.ip()));
    let result = engine.exchange.regenerate(who, sid, redo, origin, ip, surface).await;
    match result {
        Ok(ack) => conn.send_frame(ServerFrame::Ack(ack)).await,
        Err(e) => conn.error(&e, client_id).await,
    }
}
