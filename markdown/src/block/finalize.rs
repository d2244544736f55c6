//! Closing a block: what each kind settles when it closes (definitions out of
//! paragraphs, info strings, trailing blank lines, list tightness).

use super::{BlockParser, Kind, NIL};
use crate::chars::is_space_tab;

impl BlockParser<'_> {
    /// Closes block `b`; `during_line` tells whether a line caused it.
    pub(super) fn finalize(&mut self, b: u32, line: u32, during_line: bool) {
        let parent = self.node(b).map_or(NIL, |n| n.parent);
        let cur = self.line_number;
        {
            let n = self.n(b);
            n.open = false;
            n.end_line = line;
            n.closed_at = if during_line { cur } else { NIL };
        }
        let kind = self.kind(b).clone();
        match kind {
            Kind::Paragraph => {
                let text = std::mem::take(&mut self.n(b).text);
                let used = crate::inline::link::parse_ref_defs(&text, &mut self.refs, self.base);
                let rest = text.get(used..).unwrap_or("");
                if rest.trim_matches(|c: char| c.is_ascii_whitespace()).is_empty() {
                    self.n(b).kind = Kind::Removed;
                } else {
                    self.n(b).text = rest.to_string();
                }
            }
            Kind::Code { fence: Some(_), .. } => {
                let text = std::mem::take(&mut self.n(b).text);
                let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
                let info = crate::chars::unescape(first.trim_matches(|c: char| c.is_ascii_whitespace()));
                let rest = rest.to_string();
                let n = self.n(b);
                if let Kind::Code { info: i, .. } = &mut n.kind {
                    *i = info;
                }
                n.text = rest;
            }
            Kind::Code { fence: None, .. } => {
                let n = self.n(b);
                // Trailing blank lines are not part of an indented code block.
                let mut end = n.text.len();
                let mut lines_removed = 0;
                loop {
                    let body = n.text.get(..end).unwrap_or("");
                    let body = body.strip_suffix('\n').unwrap_or(body);
                    let start = body.rfind('\n').map_or(0, |p| p + 1);
                    let last = body.get(start..).unwrap_or("");
                    if start == 0 || !last.bytes().all(is_space_tab) {
                        break;
                    }
                    end = start;
                    lines_removed += 1;
                }
                n.text.truncate(end);
                n.end_line = n.start_line.max(line.saturating_sub(lines_removed));
            }
            Kind::Html(_) => {
                let n = self.n(b);
                if n.text.ends_with('\n') {
                    n.text.pop();
                }
            }
            Kind::Item(_) => {
                let (first, last, start) = self.node(b).map_or((NIL, NIL, 0), |n| (n.first, n.last, n.start_line));
                let end = if first == NIL {
                    start
                } else {
                    self.node(last).map_or(start, |n| n.end_line)
                };
                self.n(b).end_line = end;
            }
            Kind::List(mut d) => {
                d.tight = self.list_is_tight(b);
                let last = self.node(b).map_or(NIL, |n| n.last);
                let end = self.node(last).map_or(line, |n| n.end_line);
                let n = self.n(b);
                n.end_line = end;
                n.kind = Kind::List(d);
            }
            _ => {}
        }
        self.tip = parent;
    }

    /// A list is loose if any of its items, or any block directly inside an
    /// item, is followed by a sibling after a blank line (commonmark.js).
    fn list_is_tight(&self, list: u32) -> bool {
        let gap = |i: u32| -> bool {
            let Some(n) = self.node(i) else { return false };
            n.next != NIL && self.node(n.next).is_some_and(|m| m.start_line > n.end_line + 1)
        };
        let mut item = self.node(list).map_or(NIL, |n| n.first);
        while item != NIL {
            if gap(item) {
                return false;
            }
            let mut sub = self.node(item).map_or(NIL, |n| n.first);
            while sub != NIL {
                if gap(sub) {
                    return false;
                }
                sub = self.node(sub).map_or(NIL, |n| n.next);
            }
            item = self.node(item).map_or(NIL, |n| n.next);
        }
        true
    }
}
