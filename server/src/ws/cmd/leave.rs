//! `leave` (contract §3.2): this connection stops hearing the conversation;
//! silent on success.

use protocol::frames::SessionFrame;

use crate::ws::connection::{Caller, Connection, Flow};

pub(in crate::ws) async fn apply(l: SessionFrame, conn: &Connection, caller: &Caller) -> Flow {
    let engine = conn.engine();
    match engine.replies.leave(&caller.who, caller.conn, &l.session_id).await {
        Ok(()) => Flow::Continue,
        Err(e) => conn.error(&e, None).await,
    }
}
