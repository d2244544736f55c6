//! A small, safe markdown renderer for chat replies.
//!
//! Models write markdown; Brook shows it. Raw HTML in a reply is *text*, never
//! markup: the parser produces an AST of known node kinds only, and the two
//! renderers build output from it — [`to_html`] escapes every character of text
//! (the Leptos app), and the widget walks the same AST creating DOM nodes with
//! `textContent`. Links are kept only for `http`, `https` and `mailto`; anything
//! else (`javascript:`, `data:` …) is shown as plain text.
//!
//! It is deliberately a subset (paragraphs, headings, lists, quotes, fenced code,
//! tables, rules; bold, italic, strike, code, links) and tolerant of half-written
//! input, because replies are rendered while they stream.

mod highlight;
mod html;
mod parse;

pub use highlight::{highlight, Token, TokenKind};
pub use html::to_html;
pub use parse::{parse, Block, Inline};

/// Whether a link target is safe to make clickable.
pub fn safe_url(url: &str) -> bool {
    let u = url.trim().to_ascii_lowercase();
    u.starts_with("https://") || u.starts_with("http://") || u.starts_with("mailto:")
}
