//! A reply's numbered log: every frame the reply produces, in order, encoded once.
//!
//! Token entries carry `seq` 1, 2, 3 … with no gaps. Frames are serialized when
//! they are appended and shared (reference-counted) by every reader, so fan-out
//! to N subscribers costs N pointer copies, not N encodings.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use protocol::frames::Complete;
use protocol::objects::MessageStatus;
use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// `progress`, the assistant's `typing` and `stream_start`: the preamble a
    /// joined connection sees before the tokens.
    Preamble,
    Token,
    Error,
    Complete,
    /// The assistant's `typing` false after `complete`.
    Epilogue,
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub kind: EntryKind,
    /// The token's `seq`; 0 for other entries.
    pub seq: u64,
    /// The frame as JSON text, ready for a WebSocket or an SSE `data:` line.
    pub frame: Utf8Bytes,
    /// A token's text (for long polling).
    pub text: Option<Arc<str>>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ReplyState {
    Queued,
    Streaming,
    Finished {
        status: MessageStatus,
        complete: Box<Complete>,
    },
}

struct Inner {
    entries: Vec<Entry>,
    last_seq: u64,
    state: ReplyState,
}

pub struct ReplyLog {
    pub reply_id: String,
    pub owner_id: String,
    pub conversation_id: String,
    /// The user message this reply answers.
    pub message_id: String,
    inner: Mutex<Inner>,
    /// The number of entries, so readers can wait for more without polling.
    len: watch::Sender<usize>,
    /// A copy of a reply that another node generates, filled from its Redis
    /// Stream (issue 13); `stop` for it travels on the cluster bus.
    remote: bool,
    /// Set once this node started copying the log to Redis.
    forwarded: AtomicBool,
}

/// What a reader gets: entries from its offset, and where to continue.
pub struct LogRead {
    pub entries: Vec<Entry>,
    pub next: usize,
    pub finished: bool,
}

/// Which entries a reader wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Everything from the start (a joined connection seeing a new reply).
    All,
    /// Tokens after `after_seq`, then errors and `complete` (a resume).
    After(u64),
}

impl Filter {
    pub fn passes(&self, e: &Entry) -> bool {
        match self {
            Filter::All => true,
            Filter::After(n) => match e.kind {
                EntryKind::Token => e.seq > *n,
                EntryKind::Error | EntryKind::Complete => true,
                EntryKind::Preamble | EntryKind::Epilogue => false,
            },
        }
    }
}

impl std::fmt::Debug for ReplyLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyLog")
            .field("reply_id", &self.reply_id)
            .finish_non_exhaustive()
    }
}

impl ReplyLog {
    pub fn new(reply_id: &str, owner_id: &str, conversation_id: &str, message_id: &str) -> Arc<ReplyLog> {
        Self::build(reply_id, owner_id, conversation_id, message_id, false)
    }

    /// The local copy of a reply generated on another node (see [`Self::push_remote`]).
    pub fn mirror(reply_id: &str, owner_id: &str, conversation_id: &str, message_id: &str) -> Arc<ReplyLog> {
        Self::build(reply_id, owner_id, conversation_id, message_id, true)
    }

    fn build(reply_id: &str, owner_id: &str, conversation_id: &str, message_id: &str, remote: bool) -> Arc<ReplyLog> {
        Arc::new(ReplyLog {
            remote,
            forwarded: AtomicBool::new(false),
            reply_id: reply_id.to_string(),
            owner_id: owner_id.to_string(),
            conversation_id: conversation_id.to_string(),
            message_id: message_id.to_string(),
            inner: Mutex::new(Inner {
                entries: Vec::new(),
                last_seq: 0,
                state: ReplyState::Queued,
            }),
            len: watch::channel(0).0,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether this is a copy of a reply generated on another node.
    pub fn is_remote(&self) -> bool {
        self.remote
    }

    /// True the first time it is called: the caller starts copying the log to Redis.
    pub fn claim_forwarding(&self) -> bool {
        !self.remote && !self.forwarded.swap(true, Ordering::AcqRel)
    }

    /// Appends an entry read from the generating node's Stream, keeping its
    /// `seq` (a mirror numbers nothing itself). `finish` comes with `complete`.
    pub fn push_remote(
        &self,
        kind: EntryKind,
        seq: u64,
        frame: String,
        text: Option<String>,
        finish: Option<(MessageStatus, Complete)>,
    ) {
        match kind {
            EntryKind::Complete => {
                if let Some((status, complete)) = finish {
                    self.finish(status, complete, frame);
                }
            }
            EntryKind::Token => {
                let len = {
                    let mut g = self.lock();
                    if matches!(g.state, ReplyState::Finished { .. }) || seq <= g.last_seq {
                        return;
                    }
                    g.last_seq = seq;
                    g.state = ReplyState::Streaming;
                    g.entries.push(Entry {
                        kind,
                        seq,
                        frame: frame.into(),
                        text: text.map(Arc::from),
                    });
                    g.entries.len()
                };
                self.len.send_replace(len);
            }
            _ => {
                self.set_streaming();
                self.append(Entry {
                    kind,
                    seq: 0,
                    frame: frame.into(),
                    text: None,
                });
            }
        }
    }

    fn append(&self, entry: Entry) {
        let len = {
            let mut g = self.lock();
            if matches!(g.state, ReplyState::Finished { .. }) && entry.kind != EntryKind::Epilogue {
                return;
            }
            g.entries.push(entry);
            g.entries.len()
        };
        self.len.send_replace(len);
    }

    pub fn push_preamble(&self, frame: String) {
        self.append(Entry {
            kind: EntryKind::Preamble,
            seq: 0,
            frame: frame.into(),
            text: None,
        });
    }

    pub fn set_streaming(&self) {
        let mut g = self.lock();
        if g.state == ReplyState::Queued {
            g.state = ReplyState::Streaming;
        }
    }

    /// Appends a token; `make_frame` builds its JSON from the assigned `seq`.
    pub fn push_token(&self, text: &str, make_frame: impl FnOnce(u64) -> String) -> u64 {
        let (seq, len) = {
            let mut g = self.lock();
            if matches!(g.state, ReplyState::Finished { .. }) {
                return g.last_seq;
            }
            g.last_seq += 1;
            let seq = g.last_seq;
            g.entries.push(Entry {
                kind: EntryKind::Token,
                seq,
                frame: make_frame(seq).into(),
                text: Some(Arc::from(text)),
            });
            (seq, g.entries.len())
        };
        self.len.send_replace(len);
        seq
    }

    pub fn push_error(&self, frame: String) {
        self.append(Entry {
            kind: EntryKind::Error,
            seq: 0,
            frame: frame.into(),
            text: None,
        });
    }

    /// Ends the log with `complete`; nothing but the epilogue follows.
    pub fn finish(&self, status: MessageStatus, complete: Complete, frame: String) {
        let len = {
            let mut g = self.lock();
            if matches!(g.state, ReplyState::Finished { .. }) {
                return;
            }
            g.entries.push(Entry {
                kind: EntryKind::Complete,
                seq: 0,
                frame: frame.into(),
                text: None,
            });
            g.state = ReplyState::Finished {
                status,
                complete: Box::new(complete),
            };
            g.entries.len()
        };
        self.len.send_replace(len);
    }

    pub fn push_epilogue(&self, frame: String) {
        self.append(Entry {
            kind: EntryKind::Epilogue,
            seq: 0,
            frame: frame.into(),
            text: None,
        });
    }

    pub fn state(&self) -> ReplyState {
        self.lock().state.clone()
    }

    /// The last `seq` produced so far.
    pub fn last_seq(&self) -> u64 {
        self.lock().last_seq
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.lock().state, ReplyState::Finished { .. })
    }

    /// Entries from index `from`. `finished` is true once `complete` is among what
    /// has been read (the epilogue, if any, comes with it or is not waited for).
    pub fn read(&self, from: usize) -> LogRead {
        let g = self.lock();
        let from = from.min(g.entries.len());
        let entries = g.entries[from..].to_vec();
        let finished = matches!(g.state, ReplyState::Finished { .. });
        LogRead {
            next: g.entries.len(),
            entries,
            finished,
        }
    }

    /// A reader that yields batches of entries passing `filter`, waiting for more
    /// until the reply finishes.
    pub fn follow(self: &Arc<Self>, filter: Filter) -> Follower {
        Follower {
            log: self.clone(),
            rx: self.len.subscribe(),
            next: 0,
            filter,
            done: false,
        }
    }
}

pub struct Follower {
    log: Arc<ReplyLog>,
    rx: watch::Receiver<usize>,
    next: usize,
    filter: Filter,
    done: bool,
}

impl Follower {
    /// The next entries, or `None` once the reply has finished and everything was read.
    pub async fn next_batch(&mut self) -> Option<Vec<Entry>> {
        loop {
            if self.done {
                return None;
            }
            self.rx.borrow_and_update();
            let read = self.log.read(self.next);
            self.next = read.next;
            if read.finished {
                self.done = true;
            }
            let batch: Vec<Entry> = read.entries.into_iter().filter(|e| self.filter.passes(e)).collect();
            if !batch.is_empty() {
                return Some(batch);
            }
            if self.done {
                return None;
            }
            if self.rx.changed().await.is_err() {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::objects::{FinishReason, ReplyMetadata, Usage};

    fn complete() -> Complete {
        Complete {
            response: "ab".into(),
            session_id: "s".into(),
            reply_id: "r".into(),
            message_id: "r".into(),
            metadata: ReplyMetadata {
                agent: "A".into(),
                model: "m".into(),
                finish_reason: FinishReason::Stop,
                usage: Usage::default(),
                ttft_ms: None,
                duration_ms: None,
            },
        }
    }

    #[tokio::test]
    async fn followers_see_every_seq_once_in_order_from_any_offset() {
        let log = ReplyLog::new("r", "o", "s", "m");
        let mut all = log.follow(Filter::All);
        log.push_preamble("p".into());
        let writer = {
            let log = log.clone();
            tokio::spawn(async move {
                for i in 0..100 {
                    log.push_token(&i.to_string(), |seq| format!("t{seq}"));
                    if i % 7 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                log.finish(MessageStatus::Complete, complete(), "c".into());
            })
        };
        let mut resume = log.follow(Filter::After(40));
        let mut seen_all = Vec::new();
        while let Some(b) = all.next_batch().await {
            seen_all.extend(b.into_iter().map(|e| (e.kind, e.seq)));
        }
        let mut seen_resume = Vec::new();
        while let Some(b) = resume.next_batch().await {
            seen_resume.extend(b.into_iter().map(|e| (e.kind, e.seq)));
        }
        writer.await.unwrap();
        assert_eq!(seen_all.first(), Some(&(EntryKind::Preamble, 0)));
        let seqs: Vec<u64> = seen_all
            .iter()
            .filter(|(k, _)| *k == EntryKind::Token)
            .map(|(_, s)| *s)
            .collect();
        assert_eq!(seqs, (1..=100).collect::<Vec<_>>());
        assert_eq!(seen_all.last(), Some(&(EntryKind::Complete, 0)));
        let rseqs: Vec<u64> = seen_resume
            .iter()
            .filter(|(k, _)| *k == EntryKind::Token)
            .map(|(_, s)| *s)
            .collect();
        assert_eq!(rseqs, (41..=100).collect::<Vec<_>>());
        assert_eq!(seen_resume.last(), Some(&(EntryKind::Complete, 0)));
    }

    #[tokio::test]
    async fn nothing_after_finish_but_the_epilogue() {
        let log = ReplyLog::new("r", "o", "s", "m");
        log.push_token("a", |s| format!("{s}"));
        log.finish(MessageStatus::Complete, complete(), "c".into());
        log.push_token("late", |s| format!("{s}"));
        log.push_epilogue("e".into());
        let r = log.read(0);
        assert_eq!(r.entries.len(), 3);
        assert_eq!(log.last_seq(), 1);
    }
}
