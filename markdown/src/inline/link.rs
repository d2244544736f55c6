//! Links, images and link reference definitions (CommonMark §4.7, §6.3, §6.4).
//!
//! Linear on hostile input: an opener that cannot match is dropped or
//! deactivated once; labels longer than 999 bytes are not labels; a label is
//! only looked up for a bracket pair with no bracket inside; and the end of a
//! link destination is found from a per-run "next lower depth" table built once
//! ([`DestCache`]), so `[a](b(c)` repeated does not rescan the rest each time.

use super::{Bracket, INode, InlineParser};
use crate::block::{LinkDef, RefMap};
use crate::chars::{is_ascii_punct, normalize_label, unescape};
use crate::event::Tag;

/// Where a link destination starting inside one run of non-space bytes ends.
#[derive(Default)]
pub(crate) struct DestCache {
    run_start: usize,
    run_end: usize,
    /// For byte `k` of the run: the first later byte offset whose paren depth
    /// is lower (a `)` closing past the start), or `u32::MAX`.
    next_lower: Vec<u32>,
    /// Paren depth before each byte of the run, and at its end.
    depth: Vec<i32>,
}

fn is_dest_byte(c: u8) -> bool {
    c > b' ' && c != 0x7f
}

impl DestCache {
    fn build(&mut self, s: &[u8], at: usize) {
        let mut start = at;
        while start > 0 && s.get(start - 1).is_some_and(|&c| is_dest_byte(c)) {
            start -= 1;
        }
        let mut end = at;
        while s.get(end).is_some_and(|&c| is_dest_byte(c)) {
            end += 1;
        }
        self.run_start = start;
        self.run_end = end;
        let len = end - start;
        self.depth.clear();
        self.depth.reserve(len + 1);
        let mut d = 0i32;
        let mut i = start;
        while i < end {
            self.depth.push(d);
            match s.get(i) {
                Some(b'\\') if s.get(i + 1).is_some_and(|&c| is_ascii_punct(c)) && i + 1 < end => {
                    self.depth.push(d);
                    i += 2;
                    continue;
                }
                Some(b'(') => d += 1,
                Some(b')') => d -= 1,
                _ => {}
            }
            i += 1;
        }
        self.depth.push(d);
        // Next strictly lower depth, right to left with a monotonic stack.
        self.next_lower.clear();
        self.next_lower.resize(len + 1, u32::MAX);
        let mut stack: Vec<u32> = Vec::new();
        for k in (0..=len).rev() {
            let dk = self.depth.get(k).copied().unwrap_or(0);
            while let Some(&top) = stack.last() {
                if self.depth.get(top as usize).copied().unwrap_or(0) >= dk {
                    stack.pop();
                } else {
                    break;
                }
            }
            if let (Some(&top), Some(slot)) = (stack.last(), self.next_lower.get_mut(k)) {
                *slot = top;
            }
            stack.push(k as u32);
        }
    }

    /// End (exclusive) of a destination starting at `at`, if it is valid.
    fn end(&mut self, s: &[u8], at: usize) -> Option<usize> {
        if at < self.run_start || at >= self.run_end || self.depth.is_empty() {
            self.build(s, at);
        }
        let k = at - self.run_start;
        let d0 = *self.depth.get(k)?;
        match self.next_lower.get(k).copied() {
            Some(m) if m != u32::MAX => Some(self.run_start + m as usize - 1),
            _ => (*self.depth.last()? == d0).then_some(self.run_end),
        }
    }
}

/// `[label]` at `pos`: the byte after `]`. At most 999 bytes inside, no
/// unescaped brackets, not blank (§4.7).
pub(crate) fn scan_label(s: &[u8], pos: usize) -> Option<usize> {
    if s.get(pos) != Some(&b'[') {
        return None;
    }
    let mut i = pos + 1;
    let mut nonblank = false;
    loop {
        match *s.get(i)? {
            b']' => break,
            b'[' => return None,
            b'\\' => {
                nonblank = true;
                i += if s.get(i + 1).is_some_and(|&c| is_ascii_punct(c)) {
                    2
                } else {
                    1
                };
            }
            c => {
                nonblank |= !c.is_ascii_whitespace();
                i += 1;
            }
        }
        if i - pos > 1000 {
            return None;
        }
    }
    nonblank.then_some(i + 1)
}

/// A destination at `pos` for a reference definition: (raw text range, end).
fn scan_dest_simple(s: &[u8], pos: usize) -> Option<(usize, usize, usize)> {
    if s.get(pos) == Some(&b'<') {
        let mut i = pos + 1;
        loop {
            match *s.get(i)? {
                b'>' => return Some((pos + 1, i, i + 1)),
                b'<' | b'\n' | b'\r' => return None,
                b'\\' if s.get(i + 1).is_some_and(|&c| is_ascii_punct(c)) => i += 2,
                _ => i += 1,
            }
        }
    }
    let mut i = pos;
    let mut depth = 0usize;
    while let Some(&c) = s.get(i) {
        match c {
            b'\\' if s.get(i + 1).is_some_and(|&c| is_ascii_punct(c)) => i += 2,
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' if depth == 0 => break,
            b')' => {
                depth -= 1;
                i += 1;
            }
            c if !is_dest_byte(c) => break,
            _ => i += 1,
        }
    }
    (i > pos && depth == 0).then_some((pos, i, i))
}

/// A title at `pos` (`"…"`, `'…'` or `(…)`): (inner range, end).
fn scan_title(s: &[u8], pos: usize) -> Option<(usize, usize, usize)> {
    let close = match *s.get(pos)? {
        b'"' => b'"',
        b'\'' => b'\'',
        b'(' => b')',
        _ => return None,
    };
    let mut i = pos + 1;
    loop {
        match *s.get(i)? {
            c if c == close => return Some((pos + 1, i, i + 1)),
            b'(' if close == b')' => return None,
            b'\\' if s.get(i + 1).is_some_and(|&c| is_ascii_punct(c)) => i += 2,
            _ => i += 1,
        }
    }
}

/// Spaces, tabs and at most one line ending.
fn spnl(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(|&c| c == b' ' || c == b'\t') {
        i += 1;
    }
    if s.get(i) == Some(&b'\n') {
        i += 1;
        while s.get(i).is_some_and(|&c| c == b' ' || c == b'\t') {
            i += 1;
        }
    }
    i
}

fn text_of(s: &str, a: usize, b: usize) -> &str {
    s.get(a..b).unwrap_or("")
}

/// Parses link reference definitions at the start of a paragraph's text into
/// `refs`; returns how many bytes they took.
pub(crate) fn parse_ref_defs(text: &str, refs: &mut RefMap, base: &RefMap) -> usize {
    let mut pos = 0;
    while let Some(n) = parse_ref_def(text, pos, refs, base) {
        pos = n;
    }
    pos
}

fn parse_ref_def(text: &str, pos: usize, refs: &mut RefMap, base: &RefMap) -> Option<usize> {
    let s = text.as_bytes();
    let label_end = scan_label(s, pos)?;
    if s.get(label_end) != Some(&b':') {
        return None;
    }
    let label = text_of(text, pos + 1, label_end - 1);
    let mut i = spnl(s, label_end + 1);
    let (da, db, dest_end) = scan_dest_simple(s, i)?;
    let angle = s.get(i) == Some(&b'<');
    if !angle && da == db {
        return None;
    }
    i = dest_end;
    let before_title = i;
    let j = spnl(s, i);
    let mut title = None;
    if j > before_title {
        if let Some((ta, tb, te)) = scan_title(s, j) {
            // The title must end its line.
            let mut k = te;
            while s.get(k).is_some_and(|&c| c == b' ' || c == b'\t') {
                k += 1;
            }
            if s.get(k).is_none_or(|&c| c == b'\n') {
                title = Some((ta, tb));
                i = s.get(k).map_or(k, |_| k + 1);
            }
        }
    }
    if title.is_none() {
        let mut k = before_title;
        while s.get(k).is_some_and(|&c| c == b' ' || c == b'\t') {
            k += 1;
        }
        if s.get(k).is_some_and(|&c| c != b'\n') {
            return None;
        }
        i = s.get(k).map_or(k, |_| k + 1);
    }
    let key = normalize_label(label);
    if key.is_empty() {
        return None;
    }
    if base.contains_key(&key) {
        return Some(i);
    }
    refs.entry(key).or_insert_with(|| LinkDef {
        dest: unescape(text_of(text, da, db)),
        title: title.map_or(String::new(), |(a, b)| unescape(text_of(text, a, b))),
    });
    Some(i)
}

impl InlineParser<'_> {
    pub(super) fn add_bracket(&mut self, item: u32, index: usize, image: bool) {
        if let Some(b) = self.brackets.last_mut() {
            b.bracket_after = true;
        }
        self.brackets.push(Bracket {
            item,
            prev_delim: self.top,
            index,
            image,
            active: true,
            bracket_after: false,
        });
    }

    /// `(dest "title")` right after `]` at `pos`: (dest, title, end).
    fn inline_link(&mut self, pos: usize) -> Option<(String, String, usize)> {
        let s = self.s.as_bytes();
        if s.get(pos) != Some(&b'(') {
            return None;
        }
        let mut i = spnl(s, pos + 1);
        let (da, db, end) = if s.get(i) == Some(&b'<') {
            scan_dest_simple(s, i)?
        } else if s.get(i) == Some(&b')') {
            (i, i, i)
        } else {
            let e = self.dest.end(s, i)?;
            (i, e, e)
        };
        i = end;
        let after_dest = i;
        i = spnl(s, i);
        let mut title = (0, 0);
        if i > after_dest {
            if let Some((ta, tb, te)) = scan_title(s, i) {
                title = (ta, tb);
                i = spnl(s, te);
            }
        }
        if s.get(i) != Some(&b')') {
            return None;
        }
        let dest = unescape(text_of(&self.s, da, db));
        let title = unescape(text_of(&self.s, title.0, title.1));
        Some((dest, title, i + 1))
    }

    pub(super) fn close_bracket(&mut self) {
        let start = self.pos;
        self.pos += 1;
        let Some(opener) = self.brackets.last() else {
            self.text("]");
            return;
        };
        if !opener.active {
            self.brackets.pop();
            self.inactive_below = self.inactive_below.min(self.brackets.len());
            self.text("]");
            return;
        }
        let (image, index, bracket_after, item, prev_delim) = (
            opener.image,
            opener.index,
            opener.bracket_after,
            opener.item,
            opener.prev_delim,
        );
        let mut found = self.inline_link(self.pos);
        if found.is_none() {
            let s = self.s.as_bytes();
            let own = !bracket_after && start - index <= 999;
            let label = if s.get(self.pos) == Some(&b'[') && s.get(self.pos + 1) == Some(&b']') {
                own.then_some((index, start, self.pos + 2))
            } else if let Some(end) = scan_label(s, self.pos) {
                Some((self.pos + 1, end - 1, end))
            } else {
                own.then_some((index, start, self.pos))
            };
            if let Some((a, b, end)) = label {
                let key = normalize_label(text_of(&self.s, a, b));
                match self.base.get(&key).or_else(|| self.refs.get(&key)) {
                    Some(def) => found = Some((def.dest.clone(), def.title.clone(), end)),
                    None => self.unresolved = true,
                }
            }
        }
        let Some((dest, title, end)) = found else {
            self.brackets.pop();
            self.inactive_below = self.inactive_below.min(self.brackets.len());
            self.text("]");
            return;
        };
        self.pos = end;
        let tag = if image {
            Tag::Image { dest, title }
        } else {
            Tag::Link { dest, title }
        };
        if let Some(it) = self.item_mut(item) {
            it.node = INode::Open { tag, ch: 0, n: 0 };
        }
        self.push(INode::Close);
        self.process_emphasis(prev_delim);
        self.brackets.pop();
        self.inactive_below = self.inactive_below.min(self.brackets.len());
        if !image {
            // No links in links: earlier link openers can no longer match.
            // Openers below `inactive_below` were done before: each is visited once
            // (a run of `![` openers would otherwise be walked again per link).
            let from = self.inactive_below;
            for b in self.brackets.iter_mut().skip(from) {
                if !b.image {
                    b.active = false;
                }
            }
            self.inactive_below = self.brackets.len();
        }
    }
}
