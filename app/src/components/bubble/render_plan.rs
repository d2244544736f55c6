//! Whether a reply bubble's HTML can take the text it now shows as an append to
//! what it rendered, or must be rendered again (issue 12: the cost per token
//! must not grow with the reply). Pure: the bubble's DOM side
//! ([`super::reply_html`]) does what [`plan`] says.
//!
//! A streaming reply goes through `markdown::stream::StreamRenderer`: each new
//! piece of text is pushed, final blocks are appended once and only the block
//! being written is replaced. That is right only while the text shown is the
//! text rendered plus more at its end. It is not after a switch to another
//! version of the reply, or when `complete` (or a reload) brings a text that
//! differs from the streamed one; then the bubble starts again. A finished reply
//! is rendered whole, once, with `markdown::to_html` (the renderer's sanitised
//! output is the only HTML a bubble ever holds).
//!
//! # The check, in constant time per token
//! Comparing the whole rendered text with the new one on every token would cost
//! O(n) per token again. While a reply streams, the store only appends to its
//! text (`Store::on_token`); every other change comes with a change seen here:
//! the version shown (the source), or the reply finishing. So a live text is
//! taken as an append when it has the same source and `markdown::mark::TextMark`
//! takes it as an extension (same bytes where the rendered text ended: a guard
//! against a text replaced in place, not a proof). A finished text is compared
//! whole, by length and a hash, which happens once per change.

use std::hash::{Hash, Hasher};

use markdown::mark::TextMark;

/// How the bubble's HTML was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// `markdown::to_html` of the whole text (a finished reply, or what the
    /// server rendered before hydration).
    Whole,
    /// A `StreamRenderer` that has been pushed the whole text so far.
    Stream,
}

/// What a bubble's HTML shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The text's source: `None` the reply itself, `Some(i)` its version `i`
    /// (index into `Msg::versions`).
    source: Option<usize>,
    how: How,
    mark: TextMark,
    /// For [`How::Whole`], a hash of all of the text (0 for a stream).
    hash: u64,
}

impl Rendered {
    /// The HTML of `text` from `source`, made `how`. O(1) for a stream,
    /// O(`text.len()`) (a hash) for a whole render.
    pub fn new(source: Option<usize>, how: How, text: &str) -> Rendered {
        Rendered {
            source,
            how,
            mark: TextMark::of(text),
            hash: if how == How::Whole { hash(text) } else { 0 },
        }
    }
}

/// What to do with the bubble's HTML.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan<'a> {
    /// It already shows this text.
    Keep,
    /// Push this (never empty) end of the text to the stream.
    Append(&'a str),
    /// Empty the bubble and stream the whole text into a new renderer (a live
    /// reply that is not an extension of what was rendered).
    Restart,
    /// Replace the bubble's HTML with `to_html` of the whole text (a finished reply).
    Whole,
}

/// What to do to show `text` from `source` (see [`Rendered::new`]), `live`
/// while the reply streams, when the bubble shows `last`.
pub fn plan<'a>(last: &Rendered, source: Option<usize>, live: bool, text: &'a str) -> Plan<'a> {
    if !live {
        let same =
            last.how == How::Whole && last.source == source && last.mark.len() == text.len() && last.hash == hash(text);
        return if same { Plan::Keep } else { Plan::Whole };
    }
    if last.how != How::Stream || last.source != source {
        return Plan::Restart;
    }
    match last.mark.rest(text) {
        Some("") => Plan::Keep,
        Some(rest) => Plan::Append(rest),
        None => Plan::Restart,
    }
}

fn hash(text: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(text: &str) -> Rendered {
        Rendered::new(None, How::Stream, text)
    }

    #[test]
    fn a_live_text_that_grew_is_appended() {
        assert_eq!(
            plan(&stream("Hello, *wo"), None, true, "Hello, *world*"),
            Plan::Append("rld*")
        );
        assert_eq!(plan(&stream(""), None, true, "# Ti"), Plan::Append("# Ti"));
    }

    #[test]
    fn the_same_live_text_is_kept() {
        assert_eq!(plan(&stream("abc"), None, true, "abc"), Plan::Keep);
    }

    #[test]
    fn a_live_text_that_is_not_an_extension_restarts() {
        // Shorter, changed at its end, or another version of the reply.
        assert_eq!(plan(&stream("Hello, world"), None, true, "Hello"), Plan::Restart);
        assert_eq!(
            plan(&stream("Hello, world"), None, true, "Hello, there, more"),
            Plan::Restart
        );
        assert_eq!(plan(&stream("Hello"), Some(0), true, "Hello, more"), Plan::Restart);
        assert_eq!(plan(&stream("Hello"), None, true, "Hellø"), Plan::Restart);
    }

    #[test]
    fn a_live_text_after_a_whole_render_restarts_the_stream() {
        // Hydration of a reply that was streaming when the server rendered the page.
        let whole = Rendered::new(None, How::Whole, "Hello");
        assert_eq!(plan(&whole, None, true, "Hello"), Plan::Restart);
        assert_eq!(plan(&whole, None, true, "Hello, more"), Plan::Restart);
    }

    #[test]
    fn a_finished_reply_is_rendered_whole_once() {
        // `complete` after streaming: the stream's last tail may lag, render it all.
        assert_eq!(plan(&stream("Hello"), None, false, "Hello"), Plan::Whole);
        let whole = Rendered::new(None, How::Whole, "Hello");
        assert_eq!(plan(&whole, None, false, "Hello"), Plan::Keep);
        // `complete` with another text, or another version shown.
        assert_eq!(plan(&whole, None, false, "Jello"), Plan::Whole);
        assert_eq!(plan(&whole, Some(1), false, "Hello"), Plan::Whole);
    }
}
