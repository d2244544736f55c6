//! Phase two: inline structure of one block's text (CommonMark §6), after
//! commonmark.js: a doubly linked list of inline items, a delimiter stack for
//! emphasis (with the spec's `openers_bottom` bound, §6.2 "process emphasis")
//! and a bracket stack for links. Matching only inserts open/close markers into
//! the list, so the result is flat: [`emit`] turns it into events with one pass
//! and an explicit stack. Every scan is memoised or bounded so that the whole
//! phase stays linear (backtick runs, raw HTML closers, link destinations).

pub(crate) mod autolink;
mod emphasis;
pub(crate) mod link;
pub(crate) mod rawhtml;

use crate::block::{RefMap, MAX_DEPTH};
use crate::chars::{entity_at, is_ascii_punct};
use crate::event::{Event, Tag};

pub(crate) const NIL: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub(crate) enum INode {
    Text(String),
    /// A delimiter run: `n` characters `ch` still shown as text.
    Delim {
        ch: u8,
        n: usize,
    },
    /// An unmatched `[` or `![`.
    Bracket {
        image: bool,
    },
    Code(String),
    Html(String),
    SoftBreak,
    HardBreak,
    /// The start of emphasis (`ch` `n` times), a link or an image.
    Open {
        tag: Tag,
        ch: u8,
        n: u8,
    },
    Close,
}

pub(crate) struct Item {
    pub node: INode,
    pub prev: u32,
    pub next: u32,
}

#[derive(Clone, Copy)]
pub(crate) struct Delim {
    pub ch: u8,
    pub count: usize,
    pub orig: usize,
    pub can_open: bool,
    pub can_close: bool,
    pub item: u32,
    pub prev: u32,
    pub next: u32,
}

pub(crate) struct Bracket {
    pub item: u32,
    pub prev_delim: u32,
    /// Byte offset just after the `[`.
    pub index: usize,
    pub image: bool,
    pub active: bool,
    pub bracket_after: bool,
}

/// Parses inline content; reusable across blocks (it keeps its buffers).
pub(crate) struct InlineParser<'r> {
    pub(crate) s: String,
    pub(crate) pos: usize,
    pub(crate) items: Vec<Item>,
    pub(crate) head: u32,
    pub(crate) tail: u32,
    pub(crate) delims: Vec<Delim>,
    pub(crate) top: u32,
    pub(crate) brackets: Vec<Bracket>,
    /// Link openers below this index in `brackets` are already inactive.
    pub(crate) inactive_below: usize,
    pub(crate) refs: &'r RefMap,
    /// Definitions from earlier text: they win over `refs`.
    pub(crate) base: &'r RefMap,
    /// Latest start of a backtick run of each length seen by the closer scan.
    backticks: Vec<usize>,
    backtick_scanned: bool,
    /// Raw HTML constructs whose closer is known to be absent from here on.
    pub(crate) html_fail_from: [usize; 4],
    pub(crate) dest: link::DestCache,
    /// A reference lookup failed (a later definition might have matched).
    pub unresolved: bool,
}

impl<'r> InlineParser<'r> {
    pub fn new(base: &'r RefMap, refs: &'r RefMap) -> Self {
        InlineParser {
            s: String::new(),
            pos: 0,
            items: Vec::new(),
            head: NIL,
            tail: NIL,
            delims: Vec::new(),
            top: NIL,
            brackets: Vec::new(),
            inactive_below: 0,
            refs,
            base,
            backticks: Vec::new(),
            backtick_scanned: false,
            html_fail_from: [usize::MAX; 4],
            dest: link::DestCache::default(),
            unresolved: false,
        }
    }

    /// Parses `text` and appends its events to `out`.
    pub fn parse(&mut self, text: &str, out: &mut Vec<Event>) {
        self.s.clear();
        self.s.push_str(text.trim_matches(|c: char| c.is_ascii_whitespace()));
        self.pos = 0;
        self.items.clear();
        self.head = NIL;
        self.tail = NIL;
        self.delims.clear();
        self.top = NIL;
        self.brackets.clear();
        self.inactive_below = 0;
        self.backticks.clear();
        self.backtick_scanned = false;
        self.html_fail_from = [usize::MAX; 4];
        self.dest = link::DestCache::default();
        while self.pos < self.s.len() {
            self.step();
        }
        self.process_emphasis(NIL);
        self.emit(out);
    }

    pub(crate) fn byte(&self, i: usize) -> Option<u8> {
        self.s.as_bytes().get(i).copied()
    }

    pub(crate) fn push(&mut self, node: INode) -> u32 {
        let idx = self.items.len() as u32;
        self.items.push(Item {
            node,
            prev: self.tail,
            next: NIL,
        });
        if let Some(t) = self.item_mut(self.tail) {
            t.next = idx;
        } else {
            self.head = idx;
        }
        self.tail = idx;
        idx
    }

    pub(crate) fn item_mut(&mut self, i: u32) -> Option<&mut Item> {
        self.items.get_mut(i as usize)
    }

    pub(crate) fn text(&mut self, s: &str) {
        if let Some(Item {
            node: INode::Text(t), ..
        }) = self.items.get_mut(self.tail as usize)
        {
            t.push_str(s);
        } else {
            self.push(INode::Text(s.to_string()));
        }
    }

    /// Inserts `node` after item `at`.
    pub(crate) fn insert_after(&mut self, at: u32, node: INode) -> u32 {
        let idx = self.items.len() as u32;
        let next = self.items.get(at as usize).map_or(NIL, |i| i.next);
        self.items.push(Item { node, prev: at, next });
        if let Some(a) = self.item_mut(at) {
            a.next = idx;
        }
        match self.item_mut(next) {
            Some(n) => n.prev = idx,
            None => self.tail = idx,
        }
        idx
    }

    /// Inserts `node` before item `at`.
    pub(crate) fn insert_before(&mut self, at: u32, node: INode) -> u32 {
        let prev = self.items.get(at as usize).map_or(NIL, |i| i.prev);
        if prev == NIL {
            let idx = self.items.len() as u32;
            self.items.push(Item {
                node,
                prev: NIL,
                next: at,
            });
            if let Some(a) = self.item_mut(at) {
                a.prev = idx;
            }
            self.head = idx;
            idx
        } else {
            self.insert_after(prev, node)
        }
    }

    /// Unlinks item `at` from the list.
    pub(crate) fn unlink(&mut self, at: u32) {
        let (prev, next) = self.items.get(at as usize).map_or((NIL, NIL), |i| (i.prev, i.next));
        match self.item_mut(prev) {
            Some(p) => p.next = next,
            None => self.head = next,
        }
        match self.item_mut(next) {
            Some(n) => n.prev = prev,
            None => self.tail = prev,
        }
    }

    fn step(&mut self) {
        let Some(c) = self.byte(self.pos) else { return };
        let handled = match c {
            b'\n' => {
                self.newline();
                true
            }
            b'\\' => {
                self.backslash();
                true
            }
            b'`' => {
                self.backticks_run();
                true
            }
            b'*' | b'_' | b'~' => self.delim_run(c),
            b'[' => {
                self.pos += 1;
                let item = self.push(INode::Bracket { image: false });
                self.add_bracket(item, self.pos, false);
                true
            }
            b'!' if self.byte(self.pos + 1) == Some(b'[') => {
                self.pos += 2;
                let item = self.push(INode::Bracket { image: true });
                self.add_bracket(item, self.pos, true);
                true
            }
            b']' => {
                self.close_bracket();
                true
            }
            b'<' => self.autolink() || self.raw_html(),
            b'&' => self.entity(),
            _ => {
                self.plain();
                true
            }
        };
        if !handled {
            let start = self.pos;
            self.pos += 1;
            let s = self.s.get(start..self.pos).unwrap_or("").to_string();
            self.text(&s);
        }
    }

    /// A run of ordinary text up to the next character that may start markup.
    fn plain(&mut self) {
        let b = self.s.as_bytes();
        let start = self.pos;
        let mut i = start + 1;
        while let Some(&c) = b.get(i) {
            if matches!(
                c,
                b'\n' | b'\\' | b'`' | b'*' | b'_' | b'~' | b'[' | b'!' | b']' | b'<' | b'&'
            ) {
                break;
            }
            i += 1;
        }
        // `i` sits on an ASCII byte or the end, so both ends are char boundaries.
        let s = self.s.get(start..i).unwrap_or("").to_string();
        self.pos = i;
        self.text(&s);
    }

    fn newline(&mut self) {
        self.pos += 1;
        let mut hard = false;
        if let Some(Item {
            node: INode::Text(t), ..
        }) = self.items.get_mut(self.tail as usize)
        {
            let trimmed = t.trim_end_matches(' ').len();
            hard = t.len() - trimmed >= 2;
            t.truncate(trimmed);
        }
        self.push(if hard { INode::HardBreak } else { INode::SoftBreak });
        while self.byte(self.pos).is_some_and(|c| c == b' ' || c == b'\t') {
            self.pos += 1;
        }
    }

    fn backslash(&mut self) {
        self.pos += 1;
        match self.byte(self.pos) {
            Some(b'\n') => {
                self.pos += 1;
                self.push(INode::HardBreak);
                while self.byte(self.pos).is_some_and(|c| c == b' ' || c == b'\t') {
                    self.pos += 1;
                }
            }
            Some(c) if is_ascii_punct(c) => {
                self.pos += 1;
                let mut buf = [0u8; 4];
                let s = (c as char).encode_utf8(&mut buf);
                self.text(s);
            }
            _ => self.text("\\"),
        }
    }

    fn entity(&mut self) -> bool {
        match self.s.get(self.pos..).and_then(entity_at) {
            Some((t, n)) => {
                let mut s = String::new();
                t.push_to(&mut s);
                self.pos += n;
                self.text(&s);
                true
            }
            None => false,
        }
    }

    /// A code span, with cmark's memo of where runs of each length were seen so
    /// that unmatched runs cost nothing more (linear on `e`, `e``…` inputs).
    fn backticks_run(&mut self) {
        let start = self.pos;
        let b = self.s.as_bytes();
        let mut i = start;
        while b.get(i) == Some(&b'`') {
            i += 1;
        }
        let n = i - start;
        self.pos = i;
        let after_open = i;
        match self.find_closing_ticks(n) {
            Some(close_start) => {
                let raw = self.s.get(after_open..close_start).unwrap_or("");
                let mut code: String = raw.chars().map(|c| if c == '\n' { ' ' } else { c }).collect();
                if code.len() >= 2 && code.starts_with(' ') && code.ends_with(' ') && code.bytes().any(|c| c != b' ') {
                    code = code.get(1..code.len() - 1).unwrap_or("").to_string();
                }
                self.pos = close_start + n;
                self.push(INode::Code(code));
            }
            None => {
                self.pos = after_open;
                let ticks = "`".repeat(n);
                self.text(&ticks);
            }
        }
    }

    fn find_closing_ticks(&mut self, n: usize) -> Option<usize> {
        const MAX: usize = 1000;
        if n > MAX {
            return None;
        }
        if self.backticks.len() <= MAX {
            self.backticks = vec![0; MAX + 1];
        }
        if self.backtick_scanned && self.backticks.get(n).is_none_or(|&p| p < self.pos) {
            return None;
        }
        let b = self.s.as_bytes();
        let mut i = self.pos;
        loop {
            while b.get(i).is_some_and(|&c| c != b'`') {
                i += 1;
            }
            if i >= b.len() {
                break;
            }
            let run_start = i;
            while b.get(i) == Some(&b'`') {
                i += 1;
            }
            let len = i - run_start;
            if let Some(slot) = self.backticks.get_mut(len) {
                *slot = run_start;
            }
            if len == n {
                return Some(run_start);
            }
        }
        self.backtick_scanned = true;
        None
    }

    /// Turns the item list into events, demoting inline containers nested
    /// deeper than [`MAX_DEPTH`] to their literal text.
    fn emit(&mut self, out: &mut Vec<Event>) {
        // Per open container: was it demoted, and what closes it.
        let mut stack: Vec<(bool, u8, u8)> = Vec::new();
        let mut depth = 0u8;
        let mut i = self.head;
        let mut text = String::new();
        let flush = |text: &mut String, out: &mut Vec<Event>| {
            if !text.is_empty() {
                out.push(Event::Text(std::mem::take(text)));
            }
        };
        while let Some(item) = self.items.get_mut(i as usize) {
            i = item.next;
            match std::mem::replace(&mut item.node, INode::SoftBreak) {
                INode::Text(t) => text.push_str(&t),
                INode::Delim { ch, n } => {
                    for _ in 0..n {
                        text.push(ch as char);
                    }
                }
                INode::Bracket { image } => text.push_str(if image { "![" } else { "[" }),
                INode::Open { tag, ch, n } => {
                    if depth >= MAX_DEPTH {
                        stack.push((true, ch, n));
                        for _ in 0..n {
                            text.push(ch as char);
                        }
                    } else {
                        flush(&mut text, out);
                        stack.push((false, ch, n));
                        depth += 1;
                        out.push(Event::Start(tag));
                    }
                }
                INode::Close => match stack.pop() {
                    Some((true, ch, n)) => {
                        for _ in 0..n {
                            text.push(ch as char);
                        }
                    }
                    Some((false, _, _)) => {
                        flush(&mut text, out);
                        depth = depth.saturating_sub(1);
                        out.push(Event::End);
                    }
                    None => {}
                },
                other => {
                    flush(&mut text, out);
                    out.push(match other {
                        INode::Code(c) => Event::Code(c),
                        INode::Html(h) => Event::Html(h),
                        INode::HardBreak => Event::HardBreak,
                        _ => Event::SoftBreak,
                    });
                }
            }
        }
        flush(&mut text, out);
    }
}
