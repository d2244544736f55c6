//! HTML block start and end conditions (CommonMark §4.6). Brook recognises them
//! so that the rest of the document parses as the spec says, then shows the
//! block's text as code: it is never passed through as markup.

use crate::inline::rawhtml::{closing_tag, open_tag};

const BLOCK_TAGS: &[&str] = &[
    "address",
    "article",
    "aside",
    "base",
    "basefont",
    "blockquote",
    "body",
    "caption",
    "center",
    "col",
    "colgroup",
    "dd",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hr",
    "html",
    "iframe",
    "legend",
    "li",
    "link",
    "main",
    "menu",
    "menuitem",
    "nav",
    "noframes",
    "ol",
    "optgroup",
    "option",
    "p",
    "param",
    "search",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "track",
    "ul",
];

const RAW_TAGS: &[&str] = &["pre", "script", "style", "textarea"];

fn starts_with_ci(s: &[u8], p: &str) -> bool {
    s.len() >= p.len() && s.iter().zip(p.bytes()).all(|(a, b)| a.to_ascii_lowercase() == b)
}

fn contains_ci(s: &[u8], p: &str) -> bool {
    let p = p.as_bytes();
    // Every needle here is short and fixed, so this is linear in the line.
    s.windows(p.len())
        .any(|w| w.iter().zip(p).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

/// The HTML block type (1–7) a line starting with `<` opens, if any.
pub(super) fn starts(line: &str) -> Option<u8> {
    let s = line.as_bytes();
    let after = s.get(1..).unwrap_or(&[]);
    for t in RAW_TAGS {
        if starts_with_ci(after, t) && matches!(after.get(t.len()), None | Some(b' ' | b'\t' | b'>')) {
            return Some(1);
        }
    }
    if after.starts_with(b"!--") {
        return Some(2);
    }
    if after.starts_with(b"?") {
        return Some(3);
    }
    if after.first() == Some(&b'!') && after.get(1).is_some_and(|c| c.is_ascii_alphabetic()) {
        return Some(4);
    }
    if after.starts_with(b"![CDATA[") {
        return Some(5);
    }
    let name_from = usize::from(after.first() == Some(&b'/'));
    let name = after.get(name_from..).unwrap_or(&[]);
    let len = name.iter().take_while(|c| c.is_ascii_alphanumeric()).count();
    if len > 0 {
        let tag = name.get(..len).unwrap_or(&[]);
        let is_block = BLOCK_TAGS
            .iter()
            .any(|t| t.len() == tag.len() && starts_with_ci(tag, t));
        let end_ok = matches!(
            name.get(len..),
            None | Some([] | [b' ' | b'\t' | b'>', ..] | [b'/', b'>', ..])
        );
        if is_block && end_ok {
            return Some(6);
        }
    }
    let end = if name_from == 1 {
        closing_tag(s, 0)
    } else {
        open_tag(s, 0)
    };
    if let Some(end) = end {
        let tag_is_raw = RAW_TAGS.iter().any(|t| {
            let n = name.get(..len).unwrap_or(&[]);
            n.len() == t.len() && starts_with_ci(n, t)
        });
        if !tag_is_raw && s.get(end..).is_some_and(|r| r.iter().all(|&c| c == b' ' || c == b'\t')) {
            return Some(7);
        }
    }
    None
}

/// Whether `line` ends an HTML block of type 1–5.
pub(super) fn ends(t: u8, line: &str) -> bool {
    let s = line.as_bytes();
    match t {
        1 => RAW_TAGS.iter().any(|tag| {
            let mut close = String::from("</");
            close.push_str(tag);
            close.push('>');
            contains_ci(s, &close)
        }),
        2 => contains_ci(s, "-->"),
        3 => contains_ci(s, "?>"),
        4 => s.contains(&b'>'),
        5 => contains_ci(s, "]]>"),
        _ => false,
    }
}
