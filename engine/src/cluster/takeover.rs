//! Queued replies of a dead node are taken over and generated here, not
//! dropped (contract §8): the sweeper claims the reply's lease with `SET NX`
//! (one node wins), rebuilds its job from storage and puts it in line. A
//! draining node's hand-over is claimed the same way, as soon as it is told.

use std::sync::Arc;

use protocol::objects::{MessageStatus, Role};

use super::Cluster;
use crate::chat::runner::Runner;
use crate::chat::scheduler::{Control, Job};
use crate::hub::ReplyLog;
use crate::store::MessageRow;

/// Claims a queued reply whose lease is gone; `true` when this node now holds it.
pub(super) async fn claim(c: &Cluster, reply_id: &str) -> bool {
    let mut conn = c.query.clone();
    let r: redis::RedisResult<Option<String>> = redis::cmd("SET")
        .arg(c.lease_key(reply_id))
        .arg(&c.node_id)
        .arg("NX")
        .arg("PX")
        .arg(super::leases::LEASE_TTL.as_millis() as u64)
        .query_async(&mut conn)
        .await;
    matches!(r, Ok(Some(_)))
}

/// Takes a reply a draining node handed over (`Body::HandOver`): claimed and
/// put in line here unless this node drains too, the reply is no longer
/// `queued`, or another node claimed it first. A claimed reply that cannot be
/// put in line is released again for the sweep to resolve.
pub(super) async fn take_handed(c: Arc<Cluster>, engine: Arc<Runner>, reply_id: String) {
    if c.draining() {
        return;
    }
    let row = match engine.store.message(&reply_id).await {
        Ok(Some(row)) if row.status == MessageStatus::Queued => row,
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(error = %e, %reply_id, "handed-over reply unreadable; the sweep will find it");
            return;
        }
    };
    if claim(&c, &reply_id).await && !adopt(&c, &engine, &row).await {
        c.release(&reply_id);
    }
}

/// Puts a claimed queued reply in line on this node. `false` when it cannot be
/// (its user message or conversation is gone, or the line is full): the caller
/// marks it `interrupted` instead.
pub(super) async fn adopt(c: &Cluster, engine: &Arc<Runner>, row: &MessageRow) -> bool {
    let Some(user_id) = row.in_reply_to.as_deref() else {
        return false;
    };
    let (Ok(Some(user)), Ok(Some(conversation))) = (
        engine.store.message(user_id).await,
        engine.store.conversation(&row.owner_id, &row.conversation_id).await,
    ) else {
        return false;
    };
    let bot = engine.store.bot(&conversation.bot_id).await.ok().flatten();
    let is_visitor = bot.is_some()
        && matches!(
            engine.store.user_by_id(&row.owner_id).await,
            Ok(Some(u)) if u.role == Role::Visitor
        );
    let Ok(reservation) = engine.scheduler.reserve(&row.owner_id, &row.conversation_id) else {
        return false;
    };
    let log = ReplyLog::new(&row.id, &row.owner_id, &row.conversation_id, &user.id);
    engine.hub.insert(log.clone());
    c.hold(&row.id);
    let job = Job {
        log,
        bot,
        user_pos: user.pos,
        reply_pos: row.pos,
        user_content: user.content.clone(),
        fresh: false,
        origin_conn: None,
        is_visitor,
        control: Control::new_arc(),
        // Not metered against a daily quota: its sender was admitted already.
        quota: None,
        head_start: None,
    };
    engine.start_job(reservation.commit(job), &row.owner_id, &row.conversation_id);
    tracing::warn!(reply_id = %row.id, "queued reply of another node taken over");
    true
}
