//! Phase one: block structure, line by line (CommonMark §3–§5 and GFM tables),
//! after the design of cmark and commonmark.js: an arena of nodes, the open
//! blocks form the chain of last children from the document down, and each line
//! either continues them, starts new blocks, or is lazy paragraph text. Nothing
//! here recurses; every line costs at most the open chain (≤ 2 × 32 + 1 nodes,
//! since container nesting stops at [`MAX_DEPTH`]) plus its own length.

mod continuation;
mod finalize;
mod html;
mod starts;
mod table;

pub(crate) use table::cells as table_cells;

use std::collections::BTreeMap;

use crate::event::Align;

/// Deepest container nesting (block quotes and list items) that renders as
/// structure; deeper markers are plain text (contract §11).
pub const MAX_DEPTH: u8 = 32;

pub(crate) const NIL: u32 = u32::MAX;
const CODE_INDENT: usize = 4;

/// A link reference definition: destination and title, unescaped.
#[derive(Clone, Debug)]
pub(crate) struct LinkDef {
    pub dest: String,
    pub title: String,
}

/// Definitions by normalised label; the first definition of a label wins.
pub(crate) type RefMap = BTreeMap<String, LinkDef>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ListData {
    pub ordered: bool,
    /// The bullet (`-`, `+`, `*`) or the delimiter (`.`, `)`).
    pub marker: u8,
    pub start: u32,
    pub marker_offset: usize,
    pub padding: usize,
    pub tight: bool,
}

#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Document,
    BlockQuote,
    List(ListData),
    Item(ListData),
    Paragraph,
    Heading(u8),
    ThematicBreak,
    /// `fence`: (char, length, indent of the opening fence) for fenced code.
    Code {
        fence: Option<(u8, usize, usize)>,
        info: String,
    },
    Html(u8),
    Table(Vec<Align>),
    /// A paragraph that held only link reference definitions.
    Removed,
}

pub(crate) struct Node {
    pub kind: Kind,
    pub parent: u32,
    pub first: u32,
    pub last: u32,
    pub next: u32,
    pub open: bool,
    pub start_line: u32,
    pub end_line: u32,
    /// Container depth: block quotes and list items from the document down.
    pub depth: u8,
    /// Raw content: paragraph and heading text, code and HTML lines, table rows.
    pub text: String,
    /// Set when the block was closed while a line was being read (not by the end
    /// of input): the 0-based number of that line. Used by the stream renderer.
    pub closed_at: u32,
}

/// The block parser's state for one document.
pub(crate) struct BlockParser<'a> {
    pub nodes: Vec<Node>,
    /// Definitions found in this text.
    pub refs: RefMap,
    /// Definitions known from earlier text (they win over `refs`).
    pub base: &'a RefMap,
    tip: u32,
    oldtip: u32,
    last_matched: u32,
    line: &'a str,
    line_number: u32,
    offset: usize,
    column: usize,
    next_nonspace: usize,
    next_nonspace_column: usize,
    indent: usize,
    indented: bool,
    blank: bool,
    partially_consumed_tab: bool,
    all_closed: bool,
    /// The current line was a table's delimiter row.
    table_started: bool,
}

/// Splits text into lines at `\n`, `\r\n` or `\r`; yields (line, start offset).
pub(crate) fn lines(text: &str) -> impl Iterator<Item = (&str, usize)> {
    let b = text.as_bytes();
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= b.len() {
            return None;
        }
        let start = pos;
        let mut end = pos;
        while b.get(end).is_some_and(|&c| c != b'\n' && c != b'\r') {
            end += 1;
        }
        pos = end + 1;
        if b.get(end) == Some(&b'\r') && b.get(pos) == Some(&b'\n') {
            pos += 1;
        }
        Some((text.get(start..end).unwrap_or(""), start))
    })
}

impl<'a> BlockParser<'a> {
    pub fn new(base: &'a RefMap) -> Self {
        let doc = Node::new(Kind::Document, NIL, 0, 0);
        BlockParser {
            nodes: vec![doc],
            refs: RefMap::new(),
            base,
            tip: 0,
            oldtip: 0,
            last_matched: 0,
            line: "",
            line_number: 0,
            offset: 0,
            column: 0,
            next_nonspace: 0,
            next_nonspace_column: 0,
            indent: 0,
            indented: false,
            blank: false,
            partially_consumed_tab: false,
            all_closed: true,
            table_started: false,
        }
    }

    /// Closes every open block (end of input).
    pub fn finish(&mut self) {
        while self.tip != NIL {
            let t = self.tip;
            self.finalize(t, self.line_number.saturating_sub(1), false);
        }
    }

    pub(crate) fn node(&self, i: u32) -> Option<&Node> {
        self.nodes.get(i as usize)
    }

    fn n(&mut self, i: u32) -> &mut Node {
        // Indices come from this arena only; the fallback keeps it panic-free.
        let len = self.nodes.len();
        let idx = if (i as usize) < len { i as usize } else { 0 };
        &mut self.nodes[idx]
    }

    fn kind(&self, i: u32) -> &Kind {
        self.node(i).map_or(&Kind::Document, |n| &n.kind)
    }

    fn byte(&self, i: usize) -> Option<u8> {
        self.line.as_bytes().get(i).copied()
    }

    fn rest(&self) -> &'a str {
        self.line.get(self.offset..).unwrap_or("")
    }

    fn rest_nonspace(&self) -> &'a str {
        self.line.get(self.next_nonspace..).unwrap_or("")
    }

    /// Reads one line (without its line ending).
    pub fn add_line(&mut self, ln: &'a str) {
        self.oldtip = self.tip;
        self.offset = 0;
        self.column = 0;
        self.blank = false;
        self.partially_consumed_tab = false;
        self.table_started = false;
        self.line = ln;
        let mut container = 0u32;
        let mut all_matched = true;
        loop {
            let last = self.node(container).map_or(NIL, |n| n.last);
            if last == NIL || !self.node(last).is_some_and(|n| n.open) {
                break;
            }
            container = last;
            self.find_next_nonspace();
            match self.continues(container) {
                0 => {}
                2 => {
                    self.line_number += 1;
                    return;
                }
                _ => all_matched = false,
            }
            if !all_matched {
                container = self.node(container).map_or(0, |n| n.parent);
                break;
            }
        }
        self.all_closed = container == self.oldtip;
        self.last_matched = container;
        let mut matched_leaf =
            !matches!(self.kind(container), Kind::Paragraph | Kind::Table(_)) && accepts_lines(self.kind(container));
        while !matched_leaf {
            self.find_next_nonspace();
            if !self.indented
                && !self
                    .rest_nonspace()
                    .starts_with(|c: char| "#`~*+_=<>0123456789-|:".contains(c))
            {
                self.advance_next_nonspace();
                break;
            }
            match self.try_starts(container) {
                1 => container = self.tip,
                2 => {
                    container = self.tip;
                    matched_leaf = true;
                }
                _ => {
                    self.advance_next_nonspace();
                    break;
                }
            }
        }
        self.add_line_text(container);
        self.line_number += 1;
    }

    /// What remains of the line after the block starts: lazy paragraph text,
    /// a line for the open leaf, or a new paragraph.
    fn add_line_text(&mut self, container: u32) {
        if !self.all_closed && !self.blank && matches!(self.kind(self.tip), Kind::Paragraph) {
            // Lazy paragraph continuation.
            self.add_text();
        } else {
            self.close_unmatched();
            let html = match self.kind(container) {
                Kind::Html(t) => Some(*t),
                _ => None,
            };
            match self.kind(container) {
                Kind::Code { .. } | Kind::Paragraph => self.add_text(),
                Kind::Html(_) => {
                    let t = html.unwrap_or(0);
                    self.add_text();
                    if (1..=5).contains(&t) && html::ends(t, self.rest()) {
                        let ln = self.line_number;
                        self.finalize(container, ln, true);
                    }
                }
                Kind::Table(_) if !self.blank && !self.table_started => {
                    self.advance_next_nonspace();
                    self.add_text();
                }
                _ => {
                    if self.offset < self.line.len() && !self.blank {
                        self.add_child(Kind::Paragraph, self.offset);
                        self.advance_next_nonspace();
                        self.add_text();
                    }
                }
            }
        }
    }

    /// Appends the rest of the line to the tip's content.
    fn add_text(&mut self) {
        if self.partially_consumed_tab {
            self.offset += 1;
            let to_tab = 4 - (self.column % 4);
            let tip = self.tip;
            for _ in 0..to_tab {
                self.n(tip).text.push(' ');
            }
        }
        let rest = self.rest();
        let tip = self.tip;
        let t = &mut self.n(tip).text;
        t.push_str(rest);
        t.push('\n');
    }

    fn close_unmatched(&mut self) {
        if !self.all_closed {
            while self.oldtip != self.last_matched && self.oldtip != NIL {
                let parent = self.node(self.oldtip).map_or(NIL, |n| n.parent);
                let (t, ln) = (self.oldtip, self.line_number);
                self.finalize(t, ln.saturating_sub(1), true);
                self.oldtip = parent;
            }
            self.all_closed = true;
        }
    }

    fn add_child(&mut self, kind: Kind, _offset: usize) -> u32 {
        while !can_contain(self.kind(self.tip), &kind) {
            let (t, ln) = (self.tip, self.line_number);
            self.finalize(t, ln.saturating_sub(1), true);
        }
        let parent = self.tip;
        let pdepth = self.node(parent).map_or(0, |n| n.depth);
        let depth = match kind {
            Kind::BlockQuote | Kind::Item(_) => pdepth.saturating_add(1),
            _ => pdepth,
        };
        let mut node = Node::new(kind, parent, self.line_number, depth);
        node.start_line = self.line_number;
        let idx = self.nodes.len() as u32;
        self.nodes.push(node);
        let last = self.node(parent).map_or(NIL, |n| n.last);
        if last == NIL {
            self.n(parent).first = idx;
        } else {
            self.n(last).next = idx;
        }
        self.n(parent).last = idx;
        self.tip = idx;
        idx
    }
}

impl Node {
    fn new(kind: Kind, parent: u32, line: u32, depth: u8) -> Node {
        Node {
            kind,
            parent,
            first: NIL,
            last: NIL,
            next: NIL,
            open: true,
            start_line: line,
            end_line: line,
            depth,
            text: String::new(),
            closed_at: NIL,
        }
    }
}

fn accepts_lines(k: &Kind) -> bool {
    matches!(k, Kind::Paragraph | Kind::Code { .. } | Kind::Html(_) | Kind::Table(_))
}

fn can_contain(parent: &Kind, child: &Kind) -> bool {
    match parent {
        Kind::Document | Kind::BlockQuote | Kind::Item(_) => !matches!(child, Kind::Item(_)),
        Kind::List(_) => matches!(child, Kind::Item(_)),
        _ => false,
    }
}
