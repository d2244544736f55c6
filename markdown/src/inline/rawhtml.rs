//! Autolinks (`<https://…>`, `<a@b.c>`, CommonMark §6.5) and raw HTML
//! (§6.6). Raw HTML is recognised so that what is inside a tag is not read as
//! markdown, then kept as text. Closers that are absent are remembered, so a
//! run of `<!--` or `<?` costs one scan, not one per opener.

use super::{INode, InlineParser};
use crate::event::Tag;

fn tag_name(s: &[u8], mut i: usize) -> Option<usize> {
    if !s.get(i)?.is_ascii_alphabetic() {
        return None;
    }
    while s.get(i).is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'-') {
        i += 1;
    }
    Some(i)
}

/// Whitespace including at most one line ending; returns the new position.
fn ws(s: &[u8], mut i: usize) -> usize {
    let mut newline = false;
    while let Some(&c) = s.get(i) {
        match c {
            b' ' | b'\t' => i += 1,
            b'\n' | b'\r' if !newline => {
                newline = true;
                i += 1;
            }
            _ => break,
        }
    }
    i
}

/// An open tag at `pos` (`<name attrs… /?>`): the byte after `>`.
pub(crate) fn open_tag(s: &[u8], pos: usize) -> Option<usize> {
    if s.get(pos) != Some(&b'<') {
        return None;
    }
    let mut i = tag_name(s, pos + 1)?;
    loop {
        let j = ws(s, i);
        let had_ws = j > i;
        i = j;
        match *s.get(i)? {
            b'>' => return Some(i + 1),
            b'/' => return (s.get(i + 1) == Some(&b'>')).then_some(i + 2),
            c if had_ws && (c.is_ascii_alphabetic() || c == b'_' || c == b':') => {
                i += 1;
                while s
                    .get(i)
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'-'))
                {
                    i += 1;
                }
                let j = ws(s, i);
                if s.get(j) == Some(&b'=') {
                    i = ws(s, j + 1);
                    match *s.get(i)? {
                        q @ (b'"' | b'\'') => {
                            i += 1;
                            while *s.get(i)? != q {
                                i += 1;
                            }
                            i += 1;
                        }
                        _ => {
                            let start = i;
                            while s
                                .get(i)
                                .is_some_and(|&c| c > b' ' && !matches!(c, b'"' | b'\'' | b'=' | b'<' | b'>' | b'`'))
                            {
                                i += 1;
                            }
                            if i == start {
                                return None;
                            }
                        }
                    }
                }
            }
            _ => return None,
        }
    }
}

/// A closing tag at `pos` (`</name >`): the byte after `>`.
pub(crate) fn closing_tag(s: &[u8], pos: usize) -> Option<usize> {
    if s.get(pos) != Some(&b'<') || s.get(pos + 1) != Some(&b'/') {
        return None;
    }
    let i = ws(s, tag_name(s, pos + 2)?);
    (s.get(i) == Some(&b'>')).then_some(i + 1)
}

fn find(s: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = from;
    while i + needle.len() <= s.len() {
        if s.get(i) == Some(&first) && s.get(i..i + needle.len()) == Some(needle) {
            return Some(i);
        }
        i += 1;
    }
    None
}

impl InlineParser<'_> {
    /// `<scheme:…>` or `<local@domain>` at the current position.
    pub(super) fn autolink(&mut self) -> bool {
        let s = self.s.as_bytes();
        let p = self.pos;
        // URI autolink: scheme of 2–32 characters, then anything but space, `<`, `>`.
        let mut i = p + 1;
        if s.get(i).is_some_and(|c| c.is_ascii_alphabetic()) {
            while s
                .get(i)
                .is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-'))
            {
                i += 1;
            }
            let scheme = i - p - 1;
            if (2..=32).contains(&scheme) && s.get(i) == Some(&b':') {
                i += 1;
                while s.get(i).is_some_and(|&c| c > b' ' && c != b'<' && c != b'>') {
                    i += 1;
                }
                if s.get(i) == Some(&b'>') {
                    let url = self.s.get(p + 1..i).unwrap_or("").to_string();
                    self.pos = i + 1;
                    self.link_node(url.clone(), url);
                    return true;
                }
            }
        }
        // Email autolink.
        let mut i = p + 1;
        while s
            .get(i)
            .is_some_and(|&c| c.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&c))
        {
            i += 1;
        }
        if i == p + 1 || s.get(i) != Some(&b'@') {
            return false;
        }
        i += 1;
        loop {
            let label_start = i;
            while s.get(i).is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'-') {
                i += 1;
            }
            let len = i - label_start;
            if len == 0 || len > 63 || s.get(label_start) == Some(&b'-') || s.get(i - 1) == Some(&b'-') {
                return false;
            }
            match s.get(i) {
                Some(b'.') => i += 1,
                Some(b'>') => break,
                _ => return false,
            }
        }
        let addr = self.s.get(p + 1..i).unwrap_or("").to_string();
        self.pos = i + 1;
        let mut dest = String::from("mailto:");
        dest.push_str(&addr);
        self.link_node(dest, addr);
        true
    }

    fn link_node(&mut self, dest: String, text: String) {
        self.push(INode::Open {
            tag: Tag::Link {
                dest,
                title: String::new(),
            },
            ch: 0,
            n: 0,
        });
        self.push(INode::Text(text));
        self.push(INode::Close);
    }

    /// Raw HTML at the current position: kept as [`INode::Html`] (text).
    pub(super) fn raw_html(&mut self) -> bool {
        let s = self.s.as_bytes();
        let p = self.pos;
        let end = match s.get(p + 1) {
            Some(b'/') => closing_tag(s, p),
            Some(b'?') => self.memo_find(0, p + 2, b"?>").map(|e| e + 2),
            Some(b'!') => {
                if s.get(p + 2..p + 4) == Some(b"--") {
                    if s.get(p + 4) == Some(&b'>') {
                        Some(p + 5)
                    } else if s.get(p + 4..p + 6) == Some(b"->") {
                        Some(p + 6)
                    } else {
                        self.memo_find(1, p + 4, b"-->").map(|e| e + 3)
                    }
                } else if s.get(p + 2..p + 9) == Some(b"[CDATA[") {
                    self.memo_find(2, p + 9, b"]]>").map(|e| e + 3)
                } else if s.get(p + 2).is_some_and(|c| c.is_ascii_alphabetic()) {
                    self.memo_find(3, p + 3, b">").map(|e| e + 1)
                } else {
                    None
                }
            }
            _ => open_tag(s, p),
        };
        let Some(end) = end else { return false };
        let html = self.s.get(p..end).unwrap_or("").to_string();
        self.pos = end;
        self.push(INode::Html(html));
        true
    }

    /// Finds `needle` from `from`, remembering per kind where it is absent.
    fn memo_find(&mut self, kind: usize, from: usize, needle: &[u8]) -> Option<usize> {
        let fail = self.html_fail_from.get(kind).copied().unwrap_or(usize::MAX);
        if from >= fail {
            return None;
        }
        let r = find(self.s.as_bytes(), from, needle);
        if r.is_none() {
            if let Some(f) = self.html_fail_from.get_mut(kind) {
                *f = from;
            }
        }
        r
    }
}
