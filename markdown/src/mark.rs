//! Following a text that only grows, in constant time per look (issue 12).
//!
//! A streaming reply is rendered incrementally: each new piece is pushed to a
//! [`crate::stream`] renderer. Before pushing, a view must know whether the
//! text it is now given is the one it rendered with more at its end; comparing
//! the whole text would cost O(n) per token, the cost the stream exists to
//! avoid. A [`TextMark`] keeps the rendered text's length and its last
//! [`EDGE`] bytes, and takes a text as an extension when it is at least as long
//! and has the same bytes where the rendered one ended.
//!
//! That is a guard, not a proof: a text changed before its last [`EDGE`]
//! rendered bytes is not seen. It holds where the caller only ever appends to
//! a streaming text and marks every other change itself (Brook's app and widget
//! start over when the reply finishes or another version is shown).

/// How many bytes at the end of a text a [`TextMark`] keeps (at most: the kept
/// edge starts on a character boundary).
pub const EDGE: usize = 32;

/// A text's length and its last bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextMark {
    len: usize,
    edge: String,
}

impl TextMark {
    /// The mark of `text`: O([`EDGE`]).
    pub fn of(text: &str) -> TextMark {
        let mut start = text.len().saturating_sub(EDGE);
        while !text.is_char_boundary(start) {
            start += 1;
        }
        TextMark {
            len: text.len(),
            edge: text.get(start..).unwrap_or_default().to_string(),
        }
    }

    /// The marked text's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What `text` has after the marked text (possibly `""`), when it looks
    /// like the marked text with more at its end; `None` when it does not
    /// (shorter, cut inside a character, or other bytes at the mark's edge).
    pub fn rest<'a>(&self, text: &'a str) -> Option<&'a str> {
        let head = text.get(..self.len)?;
        if !head.ends_with(self.edge.as_str()) {
            return None;
        }
        text.get(self.len..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grown_text_gives_what_it_added() {
        assert_eq!(TextMark::of("Hello, *wo").rest("Hello, *world*"), Some("rld*"));
        assert_eq!(TextMark::of("").rest("# Ti"), Some("# Ti"));
        assert_eq!(TextMark::of("abc").rest("abc"), Some(""));
    }

    #[test]
    fn a_text_that_is_not_an_extension_gives_none() {
        assert_eq!(TextMark::of("Hello, world").rest("Hello"), None);
        assert_eq!(TextMark::of("Hello, world").rest("Hello, there, more"), None);
        // The mark ends inside 'ø' (two bytes) of the new text.
        assert_eq!(TextMark::of("Hello").rest("Hellø"), None);
    }

    #[test]
    fn only_the_edge_is_compared() {
        let long = format!("{}{}", "a".repeat(100), "b".repeat(EDGE));
        let changed_before_edge = format!("{}{}!", "c".repeat(100), "b".repeat(EDGE));
        assert_eq!(TextMark::of(&long).rest(&changed_before_edge), Some("!"));
        let changed_in_edge = format!("{}{}c!", "a".repeat(100), "b".repeat(EDGE - 1));
        assert_eq!(TextMark::of(&long).rest(&changed_in_edge), None);
    }

    #[test]
    fn the_edge_starts_on_a_character_boundary() {
        // 'é' is two bytes: an edge cut in its middle would not be a &str.
        let text = format!("é{}", "x".repeat(EDGE - 1));
        let mark = TextMark::of(&text);
        assert_eq!(mark.edge, "x".repeat(EDGE - 1));
        assert_eq!(mark.len(), EDGE + 1);
        assert_eq!(mark.rest(&format!("{text}y")), Some("y"));
    }
}
