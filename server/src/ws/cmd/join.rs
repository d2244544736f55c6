//! `join` (contract §3.2): this connection hears the conversation's live
//! events; answered with `joined` and the reply streaming in it, if any.

use engine::chat::Via;
use protocol::frames::{ServerFrame, SessionFrame};

use crate::ws::connection::{Caller, Connection, Flow};

pub(in crate::ws) async fn apply(j: SessionFrame, conn: &Connection, caller: &Caller) -> Flow {
    let engine = conn.engine();
    let (who, id) = (&caller.who, caller.conn);
    let result = engine.replies.join(who, id, &j.session_id, Via::Frame).await;
    match result {
        Ok(active_reply) => {
            conn.send_frame(ServerFrame::Joined {
                session_id: j.session_id,
                active_reply,
            })
            .await
        }
        Err(e) => conn.error(&e, None).await,
    }
}
