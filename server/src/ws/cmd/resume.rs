//! `resume` (contract §3.3): replaces this connection's subscription to a
//! reply with `(after_seq, current]`, then live tokens, then `complete`; a
//! finished reply answers with its `complete` alone.

use engine::chat::ReplyView;
use engine::hub::{Filter, Transport};
use protocol::frames::{ResumeFrame, ServerFrame};

use crate::ws::connection::{Caller, Connection, Flow};

pub(in crate::ws) async fn apply(r: ResumeFrame, conn: &mut Connection, caller: &Caller) -> Flow {
    let engine = conn.engine();
    engine.admission.count_resume(Transport::WebSocket);
    match engine.replies.find_to_follow(&caller.who, &r.reply_id).await {
        Ok(ReplyView::Live(log)) => {
            conn.follow(log, Filter::After(r.after_seq), true);
            Flow::Continue
        }
        Ok(ReplyView::Stored { complete, .. }) => conn.send_frame(ServerFrame::Complete(*complete)).await,
        Err(e) => conn.error(&e.with_reply(r.reply_id), None).await,
    }
}
