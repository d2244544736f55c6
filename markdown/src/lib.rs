//! Brook's markdown renderer: CommonMark 0.31.2 with GFM tables,
//! strikethrough and autolinks, safe by construction, linear in its input.
//!
//! Models write markdown; Brook shows it in three places from this one crate:
//! the server renders HTML for the first page load, the web app renders the
//! same HTML when it hydrates and streams, and the widget builds DOM nodes from
//! the same [`Event`]s (`widget/src/md.rs`).
//!
//! # Design
//! - Two phases, as in cmark: block structure line by line ([`block`]), then
//!   inline structure per block with a delimiter stack and a bracket stack
//!   ([`inline`]). The result is a flat list of [`Event`]s, so walking,
//!   rendering and dropping any document needs no recursion.
//! - **Untrusted text (contract §11).** No recursion proportional to nesting
//!   anywhere; container nesting deeper than [`MAX_DEPTH`] (block quotes, list
//!   items, emphasis, links) is shown as plain text; every scan is linear
//!   (see each module's notes). No indexing that can panic on input; the fuzz
//!   tests render random and pathological input on a 256 KiB stack.
//! - **Safety.** Raw HTML is recognised (so it parses as the spec says) and then
//!   shown as text; links are clickable only for `http:`, `https:` and `mailto:`
//!   ([`safe_url`]); images become links to the image (never `<img>`: a model
//!   could otherwise leak a conversation to any host by writing an image URL).
//! - **Streaming.** [`stream::StreamRenderer`] renders finished blocks once and
//!   re-renders only the block still being written.
//!
//! ```
//! let html = brook_markdown::to_html("**Hi** <b>there</b> [x](javascript:alert(1))");
//! assert_eq!(html, "<p><strong>Hi</strong> &lt;b&gt;there&lt;/b&gt; x</p>");
//! ```

mod block;
mod chars;
pub mod dom;
mod emit;
mod event;
mod highlight;
mod html;
mod inline;
pub mod mark;
pub mod stream;
#[rustfmt::skip]
mod tables;

pub use block::MAX_DEPTH;
pub use emit::parse;
pub use event::{Align, Event, Tag};
pub use highlight::{highlight, Token, TokenKind};
pub use html::{code_language, push_html};

/// Whether a link target may be made clickable: `http:`, `https:` and
/// `mailto:` only (ASCII case-insensitive, after trimming spaces). Relative
/// links are not: in the widget they would point into the host page.
pub fn safe_url(url: &str) -> bool {
    let u = url.trim_start().as_bytes();
    let has = |p: &[u8]| u.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    has(b"https://") || has(b"http://") || has(b"mailto:")
}

/// Markdown → safe HTML (Brook's flavour; see [`push_html`]).
pub fn to_html(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 2);
    push_html(&mut out, &parse(markdown));
    out
}

/// The text as one escaped paragraph, line breaks kept: what a message shows
/// if rendering it ever fails.
pub fn plain_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str("<p>");
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        html::escape(&mut out, line);
    }
    out.push_str("</p>");
    out
}

/// [`to_html`], or [`plain_html`] if rendering panicked (a bug): a fault in one
/// message degrades that message alone (contract §11). Where panics abort (the
/// WASM builds' `panic = "abort"`) this is [`to_html`]: there the code itself
/// must not panic, which the fuzz tests check.
pub fn to_html_or_plain(markdown: &str) -> String {
    #[cfg(panic = "unwind")]
    {
        match std::panic::catch_unwind(|| to_html(markdown)) {
            Ok(html) => html,
            Err(_) => {
                tracing_free_warn();
                plain_html(markdown)
            }
        }
    }
    #[cfg(not(panic = "unwind"))]
    {
        to_html(markdown)
    }
}

#[cfg(panic = "unwind")]
fn tracing_free_warn() {
    // The crate has no logging dependency (it ships in the widget); the panic
    // hook has already printed the panic itself.
}
