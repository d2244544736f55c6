//! Emphasis, strong emphasis and GFM strikethrough: delimiter runs, the
//! flanking rules (CommonMark §6.2) and "process emphasis" with the spec's
//! `openers_bottom` table, which keeps the search for openers linear.

use super::{Delim, INode, InlineParser, NIL};
use crate::chars::{char_at, char_before, is_punct, is_unicode_ws};
use crate::event::Tag;

impl InlineParser<'_> {
    /// A run of `*`, `_` or `~` at the current position.
    pub(super) fn delim_run(&mut self, ch: u8) -> bool {
        let start = self.pos;
        let b = self.s.as_bytes();
        let mut end = start;
        while b.get(end) == Some(&ch) {
            end += 1;
        }
        let n = end - start;
        self.pos = end;
        if ch == b'~' && n != 2 {
            // Only `~~` strikes through: a lone `~` ("~5 min") stays text.
            let t = "~".repeat(n);
            self.text(&t);
            return true;
        }
        let before = char_before(&self.s, start);
        let after = char_at(&self.s, end);
        let after_ws = is_unicode_ws(after);
        let after_p = is_punct(after);
        let before_ws = is_unicode_ws(before);
        let before_p = is_punct(before);
        let left = !after_ws && (!after_p || before_ws || before_p);
        let right = !before_ws && (!before_p || after_ws || after_p);
        let (can_open, can_close) = if ch == b'_' {
            (left && (!right || before_p), right && (!left || after_p))
        } else {
            (left, right)
        };
        let item = self.push(INode::Delim { ch, n });
        if can_open || can_close {
            let idx = self.delims.len() as u32;
            self.delims.push(Delim {
                ch,
                count: n,
                orig: n,
                can_open,
                can_close,
                item,
                prev: self.top,
                next: NIL,
            });
            if let Some(p) = self.delims.get_mut(self.top as usize) {
                p.next = idx;
            }
            self.top = idx;
        }
        true
    }

    fn d(&self, i: u32) -> Option<Delim> {
        self.delims.get(i as usize).copied()
    }

    pub(super) fn remove_delim(&mut self, i: u32) {
        let Some(d) = self.d(i) else { return };
        if let Some(p) = self.delims.get_mut(d.prev as usize) {
            p.next = d.next;
        }
        match self.delims.get_mut(d.next as usize) {
            Some(n) => n.prev = d.prev,
            None => self.top = d.prev,
        }
    }

    fn set_count(&mut self, i: u32, count: usize) {
        let Some(d) = self.delims.get_mut(i as usize) else {
            return;
        };
        d.count = count;
        let item = d.item;
        if let Some(super::Item {
            node: INode::Delim { n, .. },
            ..
        }) = self.items.get_mut(item as usize)
        {
            *n = count;
        }
    }

    /// Wraps what lies between `opener` and `closer` in emphasis, strong or
    /// strikethrough; returns the closer to continue from.
    fn match_pair(&mut self, opener: u32, closer: u32) -> u32 {
        let (Some(o), Some(c)) = (self.d(opener), self.d(closer)) else {
            return NIL;
        };
        let used = if c.ch == b'~' || (c.count >= 2 && o.count >= 2) {
            2
        } else {
            1
        };
        self.set_count(opener, o.count - used);
        self.set_count(closer, c.count - used);
        let tag = match (c.ch, used) {
            (b'~', _) => Tag::Strikethrough,
            (_, 1) => Tag::Emphasis,
            _ => Tag::Strong,
        };
        self.insert_after(
            o.item,
            INode::Open {
                tag,
                ch: c.ch,
                n: used as u8,
            },
        );
        self.insert_before(c.item, INode::Close);
        // Delimiters between opener and closer are text now.
        let mut between = o.next;
        while between != closer && between != NIL {
            let next = self.d(between).map_or(NIL, |x| x.next);
            self.remove_delim(between);
            between = next;
        }
        if o.count - used == 0 {
            self.unlink(o.item);
            self.remove_delim(opener);
        }
        if c.count - used == 0 {
            self.unlink(c.item);
            let next = c.next;
            self.remove_delim(closer);
            return next;
        }
        closer
    }

    /// Matches closers with openers above `bottom` (a delimiter index or NIL).
    pub(super) fn process_emphasis(&mut self, bottom: u32) {
        // openers_bottom per closer kind: `_`/`*` × can_open × length % 3, and `~`.
        let mut openers_bottom = [bottom; 13];
        let mut closer = self.top;
        while let Some(d) = self.d(closer) {
            if d.prev == bottom {
                break;
            }
            closer = d.prev;
        }
        while let Some(c) = self.d(closer) {
            if !c.can_close {
                closer = c.next;
                continue;
            }
            let slot = match c.ch {
                b'_' => usize::from(c.can_open) * 3 + c.orig % 3,
                b'*' => 6 + usize::from(c.can_open) * 3 + c.orig % 3,
                _ => 12,
            };
            let floor = openers_bottom.get(slot).copied().unwrap_or(bottom);
            let mut opener = c.prev;
            let mut found = false;
            while opener != NIL && opener != bottom && opener != floor {
                let Some(o) = self.d(opener) else { break };
                let odd = (c.can_open || o.can_close) && c.orig % 3 != 0 && (o.orig + c.orig) % 3 == 0;
                if o.ch == c.ch && o.can_open && (c.ch == b'~' || !odd) {
                    found = true;
                    break;
                }
                opener = o.prev;
            }
            let old_closer = closer;
            if found {
                closer = self.match_pair(opener, closer);
            } else {
                closer = c.next;
                if let Some(b) = openers_bottom.get_mut(slot) {
                    *b = c.prev;
                }
                if !c.can_open {
                    self.remove_delim(old_closer);
                }
            }
        }
        // Everything above the bottom is done: drop it from the stack.
        while self.top != bottom && self.top != NIL {
            let t = self.top;
            self.remove_delim(t);
        }
    }
}
