//! The reply assembler: the one place that decides whether a `token` is shown.
//!
//! Shared by the app and the widget, and fed by every transport (WebSocket,
//! SSE, long polling), it keeps per reply the text shown so far and the last
//! `seq` in it. Contract §3.3: tokens carry `seq` 1, 2, 3 … with no gaps, and
//! `resume` with `after_seq = n` makes the server send `(n, current]` again,
//! then live, then `complete`. So:
//!
//! * a token with the next `seq` is appended ([`Verdict::Accepted`]);
//! * one at or below the shown `seq`, or of a finished reply, is dropped
//!   ([`Verdict::Duplicate`]);
//! * one further ahead means tokens were lost: the caller sends one `resume`
//!   after the shown `seq` ([`Verdict::Gap`]); until that resume's first token
//!   arrives, further early tokens are dropped without another resume
//!   ([`Verdict::Awaiting`]), so a gap costs exactly one `resume` and never loops;
//! * `complete.response` is the final text, whatever was shown before.
//!
//! No I/O happens here: the owner sends what the assembler answers. Plain Rust
//! (no serde, no hashing) so it fits the widget's size budget and runs in host
//! tests.

use crate::map::SmallMap;

/// What the assembler made of one token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The next `seq`: its text was appended.
    Accepted,
    /// Already shown, or the reply has finished: dropped.
    Duplicate,
    /// Tokens are missing before this one (dropped): send
    /// `{"type":"resume","reply_id":…,"after_seq":resume_after}` now.
    Gap { resume_after: u64 },
    /// Past a gap whose `resume` is already on its way: dropped, send nothing.
    Awaiting,
}

/// One reply as the page shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Reply {
    text: String,
    /// The last `seq` in `text`.
    seq: u64,
    /// `after_seq` of the `resume` sent and not answered yet.
    asked: Option<u64>,
    finished: bool,
}

/// Every reply the page follows, by reply id.
#[derive(Default)]
pub struct Assembler {
    replies: SmallMap<Reply>,
}

impl Assembler {
    pub fn new() -> Assembler {
        Assembler::default()
    }

    /// (Re)starts a reply from what the page shows now: `text` up to `seq` (from
    /// a history page, `metadata.seq`), still generating or not. A page that
    /// dropped tokens (it showed another conversation meanwhile) must call this
    /// when it shows the reply again, then [`Assembler::resume`]: an earlier
    /// resume's answer may have been among what it dropped.
    pub fn show(&mut self, reply_id: &str, seq: u64, text: &str, live: bool) {
        self.replies.insert(
            reply_id.to_string(),
            Reply {
                text: text.to_string(),
                seq,
                asked: None,
                finished: !live,
            },
        );
    }

    /// A reply announced by `ack` or `stream_start`: followed from `seq` 0 unless known.
    pub fn expect(&mut self, reply_id: &str) {
        if self.replies.get(reply_id).is_none() {
            self.show(reply_id, 0, "", true);
        }
    }

    /// Takes token `seq` of `reply_id` with its `text` (an unknown reply starts at 0).
    pub fn token(&mut self, reply_id: &str, seq: u64, text: &str) -> Verdict {
        self.expect(reply_id);
        let Some(r) = self.replies.get_mut(reply_id) else {
            return Verdict::Duplicate;
        };
        if r.finished || seq <= r.seq {
            return Verdict::Duplicate;
        }
        if seq == r.seq + 1 {
            r.seq = seq;
            r.text.push_str(text);
            r.asked = None;
            return Verdict::Accepted;
        }
        if r.asked == Some(r.seq) {
            return Verdict::Awaiting;
        }
        r.asked = Some(r.seq);
        Verdict::Gap { resume_after: r.seq }
    }

    /// `complete`: `response` is the final text; later tokens are duplicates.
    pub fn complete(&mut self, reply_id: &str, response: &str) {
        self.expect(reply_id);
        if let Some(r) = self.replies.get_mut(reply_id) {
            r.text.clear();
            r.text.push_str(response);
            r.finished = true;
            r.asked = None;
        }
    }

    /// The `after_seq` to `resume` a still generating reply with (on `join`,
    /// on `joined.active_reply`, on opening a conversation), or `None` when
    /// the reply finished or the same resume is already on its way.
    pub fn resume(&mut self, reply_id: &str) -> Option<u64> {
        let r = self.replies.get_mut(reply_id)?;
        if r.finished || r.asked == Some(r.seq) {
            return None;
        }
        r.asked = Some(r.seq);
        Some(r.seq)
    }

    /// After a (re)connection every earlier `resume` is void: the resumes to
    /// send now, one per reply still generating, as `(reply_id, after_seq)`.
    pub fn reconnected(&mut self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for (id, r) in self.replies.iter_mut() {
            if !r.finished {
                r.asked = Some(r.seq);
                out.push((id.clone(), r.seq));
            }
        }
        out
    }

    /// Stops following a reply (it was replaced by a regenerated one, or its
    /// conversation was deleted).
    /// Its late tokens are duplicates from then on.
    pub fn forget(&mut self, reply_id: &str) {
        self.replies.insert(
            reply_id.to_string(),
            Reply {
                finished: true,
                ..Reply::default()
            },
        );
    }

    /// The text shown for a reply.
    pub fn text(&self, reply_id: &str) -> Option<&str> {
        self.replies.get(reply_id).map(|r| r.text.as_str())
    }

    /// The last `seq` shown for a reply (0 when unknown).
    pub fn seq(&self, reply_id: &str) -> u64 {
        self.replies.get(reply_id).map_or(0, |r| r.seq)
    }

    /// Whether a reply is followed and still generating.
    pub fn is_live(&self, reply_id: &str) -> bool {
        self.replies.get(reply_id).is_some_and(|r| !r.finished)
    }
}

#[cfg(test)]
mod tests;
