//! `stop` (contract §3.2): ends a streaming reply; silent on success (the
//! reply's `complete` says it stopped), an `error` naming the reply otherwise.

use protocol::frames::StopFrame;

use crate::ws::connection::{Caller, Connection, Flow};

pub(in crate::ws) async fn apply(s: StopFrame, conn: &Connection, caller: &Caller) -> Flow {
    let engine = conn.engine();
    match engine.replies.stop(&caller.who, &s.reply_id).await {
        Ok(()) => Flow::Continue,
        Err(e) => conn.error(&e.with_reply(s.reply_id), None).await,
    }
}
