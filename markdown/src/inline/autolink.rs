//! GFM extended autolinks (GFM 0.29 §6.9): bare `https://…`, `http://…`,
//! `www.…` and `name@example.com` in text outside links. Chat replies are full of
//! bare URLs and people expect them to be clickable. One pass over each text
//! event; each byte is looked at a bounded number of times.

use crate::event::{Event, Tag};

fn is_domain_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.' || c >= 0x80
}

/// The end of a valid domain starting at `i` (GFM: segments separated by `.`,
/// at least one `.`, no `_` in the last two segments).
fn domain_end(s: &[u8], i: usize) -> Option<usize> {
    let mut end = i;
    while s.get(end).is_some_and(|&c| is_domain_byte(c)) {
        end += 1;
    }
    let d = s.get(i..end)?;
    // A trailing `.` ends a sentence, not the domain.
    let d = d.strip_suffix(b".").unwrap_or(d);
    let mut segs = d.split(|&c| c == b'.');
    let n = d.split(|&c| c == b'.').count();
    if n < 2 || d.split(|&c| c == b'.').any(|s| s.is_empty()) {
        return None;
    }
    if segs.by_ref().skip(n - 2).any(|s| s.contains(&b'_')) {
        return None;
    }
    Some(end)
}

/// Trailing punctuation, unbalanced `)` and entity-like `&x;` are not part of a link.
fn trim_end(s: &[u8], start: usize, mut end: usize) -> usize {
    loop {
        let Some(&last) = s.get(end.wrapping_sub(1)).filter(|_| end > start) else {
            return end;
        };
        match last {
            b'?' | b'!' | b'.' | b',' | b':' | b'*' | b'_' | b'~' => end -= 1,
            b')' => {
                let span = s.get(start..end).unwrap_or(&[]);
                let open = span.iter().filter(|&&c| c == b'(').count();
                let close = span.iter().filter(|&&c| c == b')').count();
                if close > open {
                    end -= 1;
                } else {
                    return end;
                }
            }
            b';' => {
                let mut k = end - 1;
                while k > start && s.get(k - 1).is_some_and(|c| c.is_ascii_alphanumeric()) {
                    k -= 1;
                }
                if k > start && k < end - 1 && s.get(k - 1) == Some(&b'&') {
                    end = k - 1;
                } else {
                    return end;
                }
            }
            _ => return end,
        }
    }
}

fn starts_ci(s: &[u8], i: usize, p: &[u8]) -> bool {
    s.get(i..i + p.len()).is_some_and(|w| w.eq_ignore_ascii_case(p))
}

/// A URL autolink at `i`: (end, href).
fn url_at(s: &[u8], i: usize) -> Option<(usize, &'static str)> {
    let (prefix, dom) = if starts_ci(s, i, b"https://") {
        ("", i + 8)
    } else if starts_ci(s, i, b"http://") {
        ("", i + 7)
    } else if starts_ci(s, i, b"www.") {
        ("http://", i)
    } else {
        return None;
    };
    let mut end = domain_end(s, dom)?;
    while s.get(end).is_some_and(|&c| !c.is_ascii_whitespace() && c != b'<') {
        end += 1;
    }
    let end = trim_end(s, i, end);
    (end > dom).then_some((end, prefix))
}

fn is_local_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'+' | b'-' | b'_')
}

/// An email autolink around the `@` at `at`, not starting before `floor`: (start, end).
fn email_at(s: &[u8], at: usize, floor: usize) -> Option<(usize, usize)> {
    let mut start = at;
    while start > floor && s.get(start - 1).is_some_and(|&c| is_local_byte(c)) {
        start -= 1;
    }
    if start == at {
        return None;
    }
    let mut end = at + 1;
    let mut dots = 0;
    while let Some(&c) = s.get(end) {
        if c == b'.' && s.get(end + 1).is_some_and(|c| c.is_ascii_alphanumeric()) {
            dots += 1;
        } else if !(c.is_ascii_alphanumeric() || c == b'-' || c == b'_') {
            break;
        }
        end += 1;
    }
    let last = *s.get(end - 1)?;
    if dots == 0 || last == b'-' || last == b'_' || end == at + 1 {
        return None;
    }
    Some((start, end))
}

fn push_link(out: &mut Vec<Event>, href: String, text: &str) {
    out.push(Event::Start(Tag::Link {
        dest: href,
        title: String::new(),
    }));
    out.push(Event::Text(text.to_string()));
    out.push(Event::End);
}

/// Splits one text into text and autolinks.
fn link_text(t: &str, out: &mut Vec<Event>) {
    let s = t.as_bytes();
    let mut emitted = 0;
    let mut i = 0;
    while i < s.len() {
        let c = s.get(i).copied().unwrap_or(0);
        let boundary = i == 0
            || s.get(i - 1)
                .is_some_and(|&p| p.is_ascii_whitespace() || b"*_~(".contains(&p));
        if boundary && matches!(c, b'h' | b'H' | b'w' | b'W') {
            if let Some((end, prefix)) = url_at(s, i) {
                if i > emitted {
                    out.push(Event::Text(t.get(emitted..i).unwrap_or("").to_string()));
                }
                let text = t.get(i..end).unwrap_or("");
                let mut href = String::from(prefix);
                href.push_str(text);
                push_link(out, href, text);
                emitted = end;
                i = end;
                continue;
            }
        }
        if c == b'@' {
            if let Some((start, end)) = email_at(s, i, emitted) {
                if start > emitted {
                    out.push(Event::Text(t.get(emitted..start).unwrap_or("").to_string()));
                }
                let text = t.get(start..end).unwrap_or("");
                push_link(out, format!("mailto:{text}"), text);
                emitted = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    if emitted == 0 {
        out.push(Event::Text(t.to_string()));
    } else if emitted < s.len() {
        out.push(Event::Text(t.get(emitted..).unwrap_or("").to_string()));
    }
}

/// Adds extended autolinks to the inline events from `from` on (text outside
/// links and images only).
pub(crate) fn extend(events: &mut Vec<Event>, from: usize) {
    let needs = events.get(from..).is_some_and(|evs| {
        evs.iter().any(|e| matches!(e, Event::Text(t) if t.contains('@') || t.contains("://") || t.contains("ww.") || t.contains("WW.")))
    });
    if !needs {
        return;
    }
    let tail = events.split_off(from);
    let mut in_link = 0usize;
    let mut stack: Vec<bool> = Vec::new();
    for e in tail {
        match e {
            Event::Start(tag) => {
                let link = matches!(tag, Tag::Link { .. } | Tag::Image { .. });
                in_link += usize::from(link);
                stack.push(link);
                events.push(Event::Start(tag));
            }
            Event::End => {
                if stack.pop() == Some(true) {
                    in_link = in_link.saturating_sub(1);
                }
                events.push(Event::End);
            }
            Event::Text(t) if in_link == 0 => link_text(&t, events),
            other => events.push(other),
        }
    }
}
