//! Character classes (CommonMark 0.31.2 §2.1) and character references (§2.5).

use crate::tables::{ENTITIES, ENTITY_BUCKETS, FOLD, FOLD_MULTI, PUNCT};

/// `!`…`/`, `:`…`@`, `[`…`` ` ``, `{`…`~`.
pub(crate) fn is_ascii_punct(b: u8) -> bool {
    b.is_ascii_punctuation()
}

/// A Unicode punctuation character: ASCII punctuation or general category P or S.
pub(crate) fn is_punct(c: char) -> bool {
    if c.is_ascii() {
        return is_ascii_punct(c as u8);
    }
    let cp = c as u32;
    // Binary search over packed ranges.
    let (mut lo, mut hi) = (0usize, PUNCT.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        let Some(&r) = PUNCT.get(mid) else { return false };
        let start = r >> 11;
        let end = start + (r & 0x7ff);
        if cp < start {
            hi = mid;
        } else if cp > end {
            lo = mid + 1;
        } else {
            return true;
        }
    }
    false
}

/// Unicode whitespace: category Zs, tab, line feed, form feed, carriage return.
pub(crate) fn is_unicode_ws(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | '\x0c' | '\r' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

/// Space or tab.
pub(crate) fn is_space_tab(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The character ending at byte `i` of `s` (exclusive), or `'\n'` at the start.
pub(crate) fn char_before(s: &str, i: usize) -> char {
    s.get(..i).and_then(|p| p.chars().next_back()).unwrap_or('\n')
}

/// The character starting at byte `i` of `s`, or `'\n'` at the end.
pub(crate) fn char_at(s: &str, i: usize) -> char {
    s.get(i..).and_then(|p| p.chars().next()).unwrap_or('\n')
}

/// Looks up a named reference (without `&` and `;`).
pub(crate) fn named_entity(name: &str) -> Option<&'static str> {
    let first = *name.as_bytes().first()?;
    let bucket = match first {
        b'A'..=b'Z' => first - b'A',
        b'a'..=b'z' => first - b'a' + 26,
        _ => return None,
    } as usize;
    let start = *ENTITY_BUCKETS.get(bucket)? as usize;
    let end = *ENTITY_BUCKETS.get(bucket + 1)? as usize;
    let table = ENTITIES.get(start..end)?;
    let want = name.as_bytes();
    // Front-coded entries: rebuild each name from the previous one.
    let mut cur = [0u8; 40];
    let mut pos = 0;
    let bytes = table.as_bytes();
    while pos < bytes.len() {
        let shared = (*bytes.get(pos)? - b'0') as usize;
        pos += 1;
        let mut len = shared;
        while let Some(&b) = bytes.get(pos) {
            if b == 0 {
                break;
            }
            *cur.get_mut(len)? = b;
            len += 1;
            pos += 1;
        }
        pos += 1; // the NUL
        let vstart = pos;
        while bytes.get(pos).is_some_and(|&b| b != 1) {
            pos += 1;
        }
        let value = table.get(vstart..pos)?;
        pos += 1;
        match cur.get(..len)?.cmp(want) {
            std::cmp::Ordering::Equal => return Some(value),
            // Sorted: once past the name, it is not there.
            std::cmp::Ordering::Greater => return None,
            std::cmp::Ordering::Less => {}
        }
    }
    None
}

/// A character reference at the start of `s` (which begins with `&`): the
/// decoded text and the bytes it spans. `&#0;` and invalid code points give U+FFFD.
pub(crate) fn entity_at(s: &str) -> Option<(EntityText, usize)> {
    let b = s.as_bytes();
    if b.get(1) == Some(&b'#') {
        let (hex, digits_from) = match b.get(2) {
            Some(b'x' | b'X') => (true, 3),
            _ => (false, 2),
        };
        let max = if hex { 6 } else { 7 };
        let mut n: u32 = 0;
        let mut i = digits_from;
        while let Some(&c) = b.get(i) {
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' if hex => c - b'a' + 10,
                b'A'..=b'F' if hex => c - b'A' + 10,
                _ => break,
            };
            n = n * if hex { 16 } else { 10 } + d as u32;
            i += 1;
            if i - digits_from > max {
                return None;
            }
        }
        if i == digits_from || b.get(i) != Some(&b';') {
            return None;
        }
        let c = if n == 0 {
            '\u{fffd}'
        } else {
            char::from_u32(n).unwrap_or('\u{fffd}')
        };
        return Some((EntityText::Char(c), i + 1));
    }
    let mut i = 1;
    while b.get(i).is_some_and(|c| c.is_ascii_alphanumeric()) {
        i += 1;
        if i > 33 {
            return None;
        }
    }
    if i < 3 || b.get(i) != Some(&b';') || !b.get(1).is_some_and(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let v = named_entity(s.get(1..i)?)?;
    Some((EntityText::Str(v), i + 1))
}

/// What a character reference stands for.
pub(crate) enum EntityText {
    Char(char),
    Str(&'static str),
}

impl EntityText {
    pub(crate) fn push_to(&self, out: &mut String) {
        match self {
            EntityText::Char(c) => out.push(*c),
            EntityText::Str(s) => out.push_str(s),
        }
    }
}

/// Backslash escapes and character references resolved (link destinations,
/// titles, info strings: CommonMark §2.4, §2.5).
pub(crate) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if b.get(i + 1).is_some_and(|&c| is_ascii_punct(c)) => {
                out.push_str(s.get(last..i).unwrap_or(""));
                last = i + 1;
                i += 2;
            }
            b'&' => match s.get(i..).and_then(entity_at) {
                Some((t, n)) => {
                    out.push_str(s.get(last..i).unwrap_or(""));
                    t.push_to(&mut out);
                    i += n;
                    last = i;
                }
                None => i += 1,
            },
            _ => i += 1,
        }
    }
    out.push_str(s.get(last..).unwrap_or(""));
    out
}

/// Link label normalisation (§4.7): case fold, collapse inner whitespace, trim.
pub(crate) fn normalize_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for w in s.split([' ', '\t', '\n', '\r', '\x0c']) {
        if w.is_empty() {
            continue;
        }
        if space {
            out.push(' ');
        }
        space = true;
        for c in w.chars() {
            fold(c, &mut out);
        }
    }
    out
}

/// Unicode full case folding of one character (CaseFolding.txt, C + F).
fn fold(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    let cp = c as u32;
    if let Ok(i) = FOLD_MULTI.binary_search_by(|(k, _)| k.cmp(&c)) {
        if let Some((_, s)) = FOLD_MULTI.get(i) {
            out.push_str(s);
            return;
        }
    }
    // The last run starting at or before `cp`.
    let i = FOLD.partition_point(|&(r, _)| r >> 11 <= cp);
    if let Some(&(r, delta)) = i.checked_sub(1).and_then(|i| FOLD.get(i)) {
        let start = r >> 11;
        let len = (r >> 1) & 0x3ff;
        let stride = (r & 1) + 1;
        let off = cp - start;
        if off.is_multiple_of(stride) && off / stride < len {
            if let Some(f) = char::from_u32(cp.wrapping_add_signed(delta)) {
                out.push(f);
                return;
            }
        }
    }
    out.push(c);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities() {
        assert_eq!(named_entity("amp"), Some("&"));
        assert_eq!(named_entity("AElig"), Some("Æ"));
        assert_eq!(named_entity("ClockwiseContourIntegral"), Some("∲"));
        assert_eq!(named_entity("zwnj"), Some("\u{200c}"));
        assert_eq!(named_entity("ngE"), Some("≧̸"));
        assert_eq!(named_entity("nope"), None);
        assert_eq!(named_entity(""), None);
        assert_eq!(unescape("&#123;&#x1F600;&#0;&bogus;\\*"), "{😀\u{fffd}&bogus;*");
    }

    #[test]
    fn punctuation() {
        assert!(is_punct('!') && is_punct('€') && is_punct('“') && is_punct('£'));
        assert!(!is_punct('a') && !is_punct('é') && !is_punct('中'));
    }

    #[test]
    fn labels_fold() {
        assert_eq!(normalize_label("  Foo\n  BAR "), "foo bar");
        assert_eq!(normalize_label("ΑΓΩ Ǆ"), normalize_label("αγω ǆ"));
        assert_eq!(normalize_label("ẞ"), normalize_label("SS"));
    }
}
