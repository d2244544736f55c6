//! A rating's optional comment (contract §9.4), checked the same way by the app
//! and the widget before they send it, and by the server when it stores it: the
//! text is trimmed, an empty one is no comment, and it holds at most
//! [`MAX_COMMENT_CHARS`] Unicode scalar values. No serde, so the widget shares it.

/// The longest feedback comment, in Unicode scalar values (§9.4).
pub const MAX_COMMENT_CHARS: usize = 2000;

/// What a comment draft amounts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comment<'a> {
    /// Blank: the rating is stored without a comment.
    None,
    /// The trimmed text to store.
    Text(&'a str),
    /// Over [`MAX_COMMENT_CHARS`]: `chars` is its length (the server would
    /// answer `422 VALIDATION_ERROR`).
    TooLong { chars: usize },
}

/// Reads a comment draft (see [`Comment`]).
pub fn comment(draft: &str) -> Comment<'_> {
    let text = draft.trim();
    if text.is_empty() {
        return Comment::None;
    }
    let chars = text.chars().count();
    if chars > MAX_COMMENT_CHARS {
        return Comment::TooLong { chars };
    }
    Comment::Text(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_no_comment_and_text_is_trimmed() {
        assert_eq!(comment(""), Comment::None);
        assert_eq!(comment("  \n "), Comment::None);
        assert_eq!(comment("  too slow \n"), Comment::Text("too slow"));
    }

    #[test]
    fn the_limit_counts_characters_not_bytes() {
        let at = "é".repeat(MAX_COMMENT_CHARS);
        assert_eq!(comment(&at), Comment::Text(at.as_str()));
        let over = "é".repeat(MAX_COMMENT_CHARS + 1);
        assert_eq!(comment(&over), Comment::TooLong { chars: 2001 });
        // Surrounding blanks do not count.
        assert_eq!(comment(&format!("  {at}  ")), Comment::Text(at.as_str()));
    }
}
