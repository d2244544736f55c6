//! Following the open transcript's generating replies token by token (issue
//! 14): the owner's own connection `resume`s each reply of the visitor that is
//! `queued` or `streaming` (the server lets a bot's owner follow its visitors'
//! replies; decisions.md), and the shared [`Assembler`] decides which tokens
//! are shown, exactly as in the chat. Pure: the inbox sends the resumes this
//! answers and draws the texts it holds; host tests drive it with frames.
//!
//! The checkpoint reload (the transcript reloaded while a reply generates) is
//! the fallback, only for a reply that is not followed live: the connection is
//! down, or the server refused the `resume` ([`Follow::needs_checkpoints`]).

use protocol::frames::ServerFrame;
use protocol::objects::{Message, MessageRole};
use webclient::{Assembler, Verdict};

/// A `resume` to send: `(reply_id, after_seq)`.
pub type Resume = (String, u64);

/// What one frame changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The reply whose shown text (or finished state) changed.
    pub changed: Option<String>,
    /// A `resume` to send now (tokens were lost).
    pub resume: Option<Resume>,
}

/// One reply of the open transcript.
#[derive(Debug)]
struct Watched {
    id: String,
    /// The server refused to let us follow it (or an error ended the follow).
    failed: bool,
}

/// The live replies of the open transcript and their texts.
#[derive(Default)]
pub struct Follow {
    asm: Assembler,
    watched: Vec<Watched>,
}

impl Follow {
    pub fn new() -> Follow {
        Follow::default()
    }

    /// Another conversation was opened: nothing is followed any more (late
    /// tokens of the old replies are ignored).
    pub fn clear(&mut self) {
        *self = Follow::default();
    }

    fn watched(&self, id: &str) -> Option<&Watched> {
        self.watched.iter().find(|w| w.id == id)
    }

    /// A (re)loaded transcript: each assistant reply still generating that is
    /// not followed yet starts from its checkpoint (`content` up to
    /// `metadata.seq`) and is resumed after it; a followed reply the
    /// transcript shows finished takes the stored text. A reply whose follow
    /// failed starts again from the newest checkpoint. Returns the resumes to send.
    pub fn on_transcript(&mut self, msgs: &[Message]) -> Vec<Resume> {
        let mut out = Vec::new();
        for m in msgs.iter().filter(|m| m.role == MessageRole::Assistant) {
            let known = self.watched(&m.id).map(|w| w.failed);
            if !m.status.is_live() {
                if known.is_some() {
                    self.asm.complete(&m.id, &m.content);
                }
                continue;
            }
            let seq = m.metadata.get("seq").and_then(|s| s.as_u64()).unwrap_or(0);
            match known {
                Some(false) => continue,
                Some(true) => self.watched.retain(|w| w.id != m.id),
                None => {}
            }
            self.watched.push(Watched {
                id: m.id.clone(),
                failed: false,
            });
            self.asm.show(&m.id, seq, &m.content, true);
            if let Some(after) = self.asm.resume(&m.id) {
                out.push((m.id.clone(), after));
            }
        }
        out
    }

    /// One frame from the owner's connection.
    pub fn on_frame(&mut self, f: &ServerFrame) -> Outcome {
        let mut out = Outcome::default();
        match f {
            ServerFrame::Token {
                token, reply_id, seq, ..
            } if self.following(reply_id) => match self.asm.token(reply_id, *seq, token) {
                Verdict::Accepted => out.changed = Some(reply_id.clone()),
                Verdict::Gap { resume_after } => out.resume = Some((reply_id.clone(), resume_after)),
                Verdict::Duplicate | Verdict::Awaiting => {}
            },
            ServerFrame::Complete(c) if self.watched(&c.reply_id).is_some() => {
                self.asm.complete(&c.reply_id, &c.response);
                self.set_failed(&c.reply_id, false);
                out.changed = Some(c.reply_id.clone());
            }
            ServerFrame::Error(e) => {
                if let Some(id) = e.reply_id.as_deref().filter(|id| self.is_live(id)) {
                    self.set_failed(id, true);
                    out.changed = Some(id.to_string());
                }
            }
            _ => {}
        }
        out
    }

    fn set_failed(&mut self, id: &str, failed: bool) {
        if let Some(w) = self.watched.iter_mut().find(|w| w.id == id) {
            w.failed = failed;
        }
    }

    /// Whether `id` is followed live now (watched, not failed, not finished).
    pub fn following(&self, id: &str) -> bool {
        self.watched(id).is_some_and(|w| !w.failed) && self.asm.is_live(id)
    }

    fn is_live(&self, id: &str) -> bool {
        self.watched(id).is_some() && self.asm.is_live(id)
    }

    /// After the connection (re)opened: every earlier resume is void; one
    /// per reply still followed.
    pub fn reconnected(&mut self) -> Vec<Resume> {
        let ids: Vec<String> = self
            .watched
            .iter()
            .filter(|w| !w.failed)
            .map(|w| w.id.clone())
            .collect();
        self.asm
            .reconnected()
            .into_iter()
            .filter(|(id, _)| ids.contains(id))
            .collect()
    }

    /// The text to show for a reply followed live, or finished while followed
    /// (`None`: show the transcript's own text).
    pub fn text(&self, id: &str) -> Option<&str> {
        match self.watched(id) {
            Some(w) if !w.failed || !self.asm.is_live(id) => self.asm.text(id),
            _ => None,
        }
    }

    /// Whether the reply finished while followed (its `complete` arrived).
    pub fn finished(&self, id: &str) -> bool {
        self.watched(id).is_some() && !self.asm.is_live(id)
    }

    /// Whether the transcript must still be reloaded from its checkpoints: a
    /// reply in it generates and is not followed live (`connected` is false
    /// while the owner's connection is down).
    pub fn needs_checkpoints(&self, msgs: &[Message], connected: bool) -> bool {
        msgs.iter()
            .filter(|m| m.status.is_live() && !self.finished(&m.id))
            .any(|m| !connected || !self.following(&m.id))
    }
}

#[cfg(test)]
mod tests;
