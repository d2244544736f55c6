//! Reply logs readable from any node: the generating node copies each entry of
//! a reply's log to the Redis Stream `{prefix}{r:<id>}:log`; another node builds a
//! [`ReplyLog::mirror`] from it and follows it with `XREAD BLOCK`.
//!
//! Stream entry fields: `k` the kind (`p` preamble, `t` token, `e` error, `c`
//! complete, `x` epilogue), `s` the token's `seq`, `f` the frame's JSON, `x` a
//! token's text, `fin` (with `c`) the final status and `complete` object. Entry
//! ids order the entries, so a reader that continues after the last id it
//! applied sees each entry exactly once, in order.

use std::sync::Arc;
use std::time::{Duration, Instant};

use protocol::frames::Complete;
use protocol::objects::MessageStatus;
use redis::streams::{StreamId, StreamReadReply};
use serde::{Deserialize, Serialize};

use super::Cluster;
use crate::hub::{EntryKind, Filter, ReplyLog, ReplyState};

/// A Stream of a reply that is still generating expires after this long without
/// being finished (its node died): nothing stays in Redis for ever.
const LIVE_STREAM_SECS: u64 = 3600;
/// A reader gives up on a reply that stays silent and unfinished this long.
const READER_GIVES_UP: Duration = Duration::from_secs(3600);
/// How long one `XREAD` waits for new entries before the reader checks storage.
const BLOCK_MS: u64 = 1000;

#[derive(Serialize, Deserialize)]
struct Finish {
    status: MessageStatus,
    complete: Complete,
}

fn kind_code(k: EntryKind) -> &'static str {
    match k {
        EntryKind::Preamble => "p",
        EntryKind::Token => "t",
        EntryKind::Error => "e",
        EntryKind::Complete => "c",
        EntryKind::Epilogue => "x",
    }
}

fn kind_of(code: &str) -> Option<EntryKind> {
    Some(match code {
        "p" => EntryKind::Preamble,
        "t" => EntryKind::Token,
        "e" => EntryKind::Error,
        "c" => EntryKind::Complete,
        "x" => EntryKind::Epilogue,
        _ => return None,
    })
}

/// `XADD` of a `complete` entry (also what the sweeper appends for a reply whose
/// node died).
pub(super) fn complete_entry(key: &str, frame: &str, status: MessageStatus, complete: &Complete) -> redis::Cmd {
    let fin = serde_json::to_string(&Finish {
        status,
        complete: complete.clone(),
    })
    .unwrap_or_default();
    let mut cmd = redis::cmd("XADD");
    cmd.arg(key)
        .arg("*")
        .arg("k")
        .arg("c")
        .arg("s")
        .arg(0)
        .arg("f")
        .arg(frame)
        .arg("fin")
        .arg(fin);
    cmd
}

impl Cluster {
    pub(super) fn stream_key(&self, reply_id: &str) -> String {
        self.keys.reply_log(reply_id)
    }

    /// The reply of a conversation that is generating or waiting on some node,
    /// from storage: its id and the `seq` of its last checkpoint (at most a
    /// second behind; `resume` from there, or from what the client has).
    pub async fn active_reply(&self, owner: &str, session: &str) -> Option<protocol::frames::ActiveReply> {
        let recent = self.store.messages(owner, session, 8, None).await.ok()?;
        // Newest first: the last live reply listed is the one whose turn it is.
        let row = recent
            .iter()
            .rfind(|m| m.role == protocol::objects::MessageRole::Assistant && m.status.is_live())?;
        Some(protocol::frames::ActiveReply {
            reply_id: row.id.clone(),
            seq: row.seq.max(0) as u64,
        })
    }

    /// Asks the nodes to stop the conversation's live replies (a hand-off to a
    /// person, a deletion): a reply generating or queued on another node is not
    /// in this node's scheduler. The node running one stops it as for `stop`.
    pub async fn stop_conversation(&self, owner: &str, session: &str) {
        let recent = match self.store.messages(owner, session, 16, None).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the conversation's replies to stop them");
                return;
            }
        };
        let live = recent
            .iter()
            .filter(|m| m.role == protocol::objects::MessageRole::Assistant && m.status.is_live());
        for m in live {
            self.publish_stop(owner, session, &m.id);
        }
    }

    /// Keeps a finished reply's Stream for `BROOK_REPLY_LOG_SECS` (at least 1 s,
    /// so a reader between the last entry and `complete` still finds it).
    pub(super) fn expire_finished(&self, reply_id: &str) {
        let mut cmd = redis::cmd("EXPIRE");
        cmd.arg(self.stream_key(reply_id)).arg(self.retention.as_secs().max(1));
        self.bus.send(cmd);
    }
}

/// Copies a local reply's log to its Stream as it grows, until `complete`.
pub(super) fn forward(cluster: &Cluster, log: Arc<ReplyLog>) {
    let bus = cluster.bus.clone();
    let key = cluster.stream_key(&log.reply_id);
    let retention = cluster.retention.as_secs().max(1);
    tokio::spawn(async move {
        let mut follower = log.follow(Filter::All);
        let mut first = true;
        while let Some(batch) = follower.next_batch().await {
            for e in batch {
                let cmd = if e.kind == EntryKind::Complete {
                    match log.state() {
                        ReplyState::Finished { status, complete } => {
                            complete_entry(&key, e.frame.as_str(), status, &complete)
                        }
                        _ => continue,
                    }
                } else {
                    let mut cmd = redis::cmd("XADD");
                    cmd.arg(&key)
                        .arg("*")
                        .arg("k")
                        .arg(kind_code(e.kind))
                        .arg("s")
                        .arg(e.seq)
                        .arg("f")
                        .arg(e.frame.as_str());
                    if let Some(t) = &e.text {
                        cmd.arg("x").arg(&**t);
                    }
                    cmd
                };
                bus.send(cmd);
                if first {
                    first = false;
                    let mut exp = redis::cmd("EXPIRE");
                    exp.arg(&key).arg(LIVE_STREAM_SECS);
                    bus.send(exp);
                }
            }
        }
        let mut exp = redis::cmd("EXPIRE");
        exp.arg(&key).arg(retention);
        bus.send(exp);
    });
}

/// Applies one Stream entry to a mirror.
fn apply(log: &ReplyLog, entry: &StreamId) {
    let Some(kind) = entry.get::<String>("k").as_deref().and_then(kind_of) else {
        return;
    };
    let seq = entry.get::<u64>("s").unwrap_or(0);
    let frame = entry.get::<String>("f").unwrap_or_default();
    let text = entry.get::<String>("x");
    let finish = entry
        .get::<String>("fin")
        .and_then(|f| serde_json::from_str::<Finish>(&f).ok())
        .map(|f| (f.status, f.complete));
    log.push_remote(kind, seq, frame, text, finish);
}

/// This node's copy of a reply generated elsewhere: found in the hub, or made
/// and fed from the reply's Stream by a reader task. `None` when the hub is gone.
pub(super) fn open_mirror(
    cluster: &Arc<Cluster>,
    owner: &str,
    session: &str,
    reply_id: &str,
    message_id: &str,
) -> Option<Arc<ReplyLog>> {
    let hub = cluster.hub.upgrade()?;
    if let Some(log) = hub.reply(reply_id) {
        return Some(log);
    }
    let fresh = ReplyLog::mirror(reply_id, owner, session, message_id);
    let log = hub.insert_if_absent(fresh.clone());
    if Arc::ptr_eq(&log, &fresh) {
        tokio::spawn(read_stream(cluster.clone(), log.clone()));
    }
    Some(log)
}

/// Follows a reply's Stream into its mirror until `complete`; when the Stream
/// is silent, storage says whether the reply ended without it (its node died and
/// a sweeper marked it `interrupted`, or the Stream expired).
async fn read_stream(cluster: Arc<Cluster>, log: Arc<ReplyLog>) {
    let key = cluster.stream_key(&log.reply_id);
    let mut last_id = "0".to_string();
    let mut conn = None;
    let started = Instant::now();
    while !log.is_finished() && started.elapsed() < READER_GIVES_UP {
        if conn.is_none() {
            let cfg = redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(2)))
                .set_response_timeout(Some(Duration::from_millis(BLOCK_MS + 2000)));
            conn = cluster
                .client
                .get_multiplexed_async_connection_with_config(&cfg)
                .await
                .ok();
        }
        let read = match conn.as_mut() {
            None => None,
            Some(c) => {
                let r: redis::RedisResult<Option<StreamReadReply>> = redis::cmd("XREAD")
                    .arg("COUNT")
                    .arg(1000)
                    .arg("BLOCK")
                    .arg(BLOCK_MS)
                    .arg("STREAMS")
                    .arg(&key)
                    .arg(&last_id)
                    .query_async(c)
                    .await;
                match r {
                    Ok(r) => Some(r),
                    Err(e) => {
                        tracing::debug!(reply_id = %log.reply_id, error = %e, "reply stream read failed");
                        conn = None;
                        None
                    }
                }
            }
        };
        let mut got = false;
        if let Some(Some(reply)) = read {
            for k in reply.keys {
                for entry in k.ids {
                    apply(&log, &entry);
                    last_id = entry.id;
                    got = true;
                }
            }
        }
        if !got && !log.is_finished() {
            if conn.is_none() {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            finish_from_storage(&cluster, &log).await;
        }
    }
    if let Some(hub) = cluster.hub.upgrade() {
        hub.retire(log.reply_id.clone());
    }
}

/// Ends a mirror with the stored reply when storage says it is no longer live.
async fn finish_from_storage(cluster: &Cluster, log: &ReplyLog) {
    let Ok(Some(row)) = cluster.store.message(&log.reply_id).await else {
        return;
    };
    let status = row.status;
    if status.is_live() {
        return;
    }
    let complete = crate::chat::stored_complete(&row, &cluster.model);
    let frame = crate::chat::frames::complete(&complete);
    log.finish(status, complete, frame);
}
