//! `read` (contract §9.3): moves this identity's read point up to a message;
//! silent on success.

use engine::chat::Via;
use protocol::frames::ReadFrame;

use crate::ws::connection::{Caller, Connection, Flow};

pub(in crate::ws) async fn apply(r: ReadFrame, conn: &Connection, caller: &Caller) -> Flow {
    let engine = conn.engine();
    let origin = Some(caller.conn);
    let (who, via) = (&caller.who, Via::Frame);
    let result = engine.people.read(who, &r.session_id, &r.message_id, origin, via).await;
    match result {
        Ok(()) => Flow::Continue,
        Err(e) => conn.error(&e, None).await,
    }
}
