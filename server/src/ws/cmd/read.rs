//! `read` (contract §9.3): moves this identity's read point up to a message;
//! silent on success.

use engine::chat::Surface;
use protocol::frames::ReadFrame;

use crate::ws::connection::{Caller, Conn, Flow};

pub(in crate::ws) async fn apply(r: ReadFrame, conn: &Conn, caller: &Caller) -> Flow {
    let engine = conn.engine();
    let origin = Some(caller.conn);
    let (who, surface) = (&caller.who, Surface::Frame);
    let result = engine
        .people
        .read(who, &r.session_id, &r.message_id, origin, surface)
        .await;
    match result {
        Ok(()) => Flow::Continue,
        Err(e) => conn.error(&e, None).await,
    }
}
