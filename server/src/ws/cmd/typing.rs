//! `typing` (contract §3.2): tells the conversation's other side whether this
//! identity is typing; silent on success.

use protocol::frames::TypingFrame;

use crate::ws::connection::{Caller, Connection, Flow};

pub(in crate::ws) async fn apply(t: TypingFrame, conn: &Connection, caller: &Caller) -> Flow {
    let engine = conn.engine();
    let (who, id) = (&caller.who, caller.conn);
    let result = engine.typing.set(who, id, &t.session_id, t.is_typing).await;
    match result {
        Ok(()) => Flow::Continue,
        Err(e) => conn.error(&e, None).await,
    }
}
