//! Rendering a reply while it streams, at a cost per token that does not grow
//! with the reply (issue 12).
//!
//! Re-rendering the whole reply on every token costs O(n²) over a reply.
//! Instead, [`BlockStream`] keeps the text and the offset where its *open* part
//! begins. Each push re-parses only that open part; top-level blocks that have
//! become **final** are rendered once and never again, and the rest (the
//! **tail**, usually the paragraph being written) is re-rendered.
//!
//! # When a block is final
//! CommonMark's block structure is decided line by line: once a complete line
//! (one ending in a line break) closes a top-level block, no later text can
//! reopen or change it. That covers lazy continuation (a paragraph stays open
//! until a blank line or another block), setext underlines (the paragraph is
//! still open when `===` arrives), list items after blank lines (a list stays
//! open until a line that is not part of it), open fences (closed only by their
//! fence) and tables (open until a blank line). The last, incomplete line never
//! finalises anything. Parsing restarts at the first line of the first open
//! block, which is where a fresh parse would be in the same state.
//!
//! # Linear whatever the shape
//! One huge open block (a 1 MiB paragraph, or a long code block still being
//! written) would make every push re-parse it. So the open part is re-parsed on
//! every push only while it is at most [`SMALL_TAIL`] bytes; beyond that, when it
//! has grown by 1/32 since the last parse. The work over a whole reply is then
//! linear in its length for any text, at the price of a tail that lags by up to
//! 1/32 of its length for blocks above 2 KiB; [`BlockStream::finish`] always
//! renders everything.
//!
//! # Link reference definitions
//! Final blocks are rendered with the definitions known from final blocks. A
//! link whose definition only arrives later stays text until [`BlockStream::finish`],
//! which then renders the whole reply again; in every other case the finished
//! output is the incremental one. Either way the result equals [`crate::to_html`]
//! (`parse`) of the whole text.
//!
//! # Example (the app)
//! ```
//! use brook_markdown::stream::StreamRenderer;
//!
//! let mut r = StreamRenderer::new();
//! let mut done = String::new(); // e.g. a container element: append to it
//! let mut tail = String::new(); // e.g. a second element: replace its HTML
//! for token in ["# Ti", "tle\n\nSome *te", "xt*.\n\nMore"] {
//!     let u = r.push(token);
//!     done.push_str(u.done);
//!     if let Some(t) = u.tail {
//!         tail = t.to_string();
//!     }
//! }
//! assert_eq!(done, "<h3>Title</h3><p>Some <em>text</em>.</p>");
//! assert_eq!(tail, "<p>More</p>");
//! let full = r.finish(); // at `complete`: the whole reply, exactly `to_html`
//! assert_eq!(full, brook_markdown::to_html("# Title\n\nSome *text*.\n\nMore"));
//! ```

use crate::block::{lines, BlockParser, RefMap, NIL};
use crate::emit::{block_events, clean};
use crate::event::Event;
use crate::html::push_html;
use crate::inline::InlineParser;

/// Open parts up to this many bytes are re-parsed on every push.
pub const SMALL_TAIL: usize = 2048;

/// What one push produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// Blocks that became final since the last push: append them, once.
    pub done: Vec<Event>,
    /// The open part of the text, replacing the previous tail; `None` when the
    /// tail was not re-parsed this time (keep showing the previous one).
    pub tail: Option<Vec<Event>>,
}

/// How a finished stream ends.
#[derive(Debug, PartialEq, Eq)]
pub enum Finish {
    /// Replace the tail with these events; the appended blocks stand.
    Tail(Vec<Event>),
    /// A definition arrived after a final block that could have used it:
    /// replace everything with these events (the whole text parsed again).
    Whole(Vec<Event>),
}

/// Incremental block-level parsing of appended text (renderer-agnostic).
#[derive(Default)]
pub struct BlockStream {
    text: String,
    /// Byte offset where the open part starts; everything before it is final.
    committed: usize,
    /// Definitions from final blocks.
    refs: RefMap,
    /// `refs.len()` when a final block first had a label that did not resolve.
    unresolved_at: Option<usize>,
    /// `text.len()` when the open part was last parsed.
    parsed_len: usize,
}

impl BlockStream {
    pub fn new() -> Self {
        Self::default()
    }

    /// All text pushed so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Appends `s` and returns the newly final blocks and the new tail.
    pub fn push(&mut self, s: &str) -> Step {
        self.text.push_str(&clean(s));
        let mut step = Step::default();
        let open = self.text.len() - self.committed;
        let growth = self.text.len() - self.parsed_len;
        if open <= SMALL_TAIL || growth.saturating_mul(32) >= open {
            let mut tail = Vec::new();
            self.advance(Some(&mut step.done), &mut tail);
            self.parsed_len = self.text.len();
            step.tail = Some(tail);
        }
        step
    }

    /// The end of the text: the tail's final form, or the whole text again if
    /// a late definition could change a final block.
    pub fn finish(&mut self) -> Finish {
        let mut tail = Vec::new();
        let mut done = Vec::new();
        self.advance(Some(&mut done), &mut tail);
        let late = self
            .unresolved_at
            .is_some_and(|n| self.refs.len() > n || self.tail_defines());
        if late {
            return Finish::Whole(crate::parse(&self.text));
        }
        done.extend(tail);
        Finish::Tail(done)
    }

    /// Whether the open part defines a label (checked only at the end).
    fn tail_defines(&self) -> bool {
        let open = self.text.get(self.committed..).unwrap_or("");
        let mut bp = BlockParser::new(&self.refs);
        for (line, _) in lines(open) {
            bp.add_line(line);
        }
        bp.finish();
        !bp.refs.is_empty()
    }

    /// Re-parses the open part; moves final blocks into `done`.
    fn advance(&mut self, done: Option<&mut Vec<Event>>, tail: &mut Vec<Event>) {
        let open = self.text.get(self.committed..).unwrap_or("");
        let Parsed {
            bp,
            starts,
            complete_end,
            certain,
            finals,
            first_open,
        } = parse_open(open, &self.refs);
        let mut committed_to = self.committed;
        if let Some(done) = done {
            if !finals.is_empty() {
                let mut inline = InlineParser::new(&self.refs, &certain);
                for &b in &finals {
                    inline.unresolved = false;
                    block_events(&bp, &mut inline, b, done);
                    if inline.unresolved && self.unresolved_at.is_none() {
                        self.unresolved_at = Some(self.refs.len() + certain.len());
                    }
                }
                let restart = match bp.node(first_open) {
                    Some(n) => starts.get(n.start_line as usize).copied().unwrap_or(complete_end),
                    None => complete_end,
                };
                committed_to = self.committed + restart;
            }
        }
        // The tail: everything not final, with every definition seen so far.
        let mut all = certain.clone();
        for (k, v) in &bp.refs {
            all.entry(k.clone()).or_insert_with(|| v.clone());
        }
        {
            let mut inline = InlineParser::new(&self.refs, &all);
            let mut child = first_open;
            while child != NIL {
                block_events(&bp, &mut inline, child, tail);
                child = bp.node(child).map_or(NIL, |n| n.next);
            }
        }
        // Definitions from blocks closed by complete lines can no longer change.
        for (k, v) in certain {
            self.refs.entry(k).or_insert(v);
        }
        self.committed = committed_to;
    }
}

/// The open part parsed: which top-level blocks became final, where lines start.
struct Parsed<'a> {
    bp: BlockParser<'a>,
    /// Byte offset of each line in the open part.
    starts: Vec<usize>,
    /// End of the last complete line.
    complete_end: usize,
    /// Definitions from blocks closed by complete lines.
    certain: RefMap,
    finals: Vec<u32>,
    first_open: u32,
}

fn parse_open<'a>(open: &'a str, refs: &'a RefMap) -> Parsed<'a> {
    // Lines ending in a line break are complete; a trailing `\r` may still
    // become `\r\n`, so it does not count yet.
    let complete_end = open.rfind('\n').map_or(0, |i| i + 1);
    let complete_end = match open.get(complete_end..).and_then(|r| r.rfind('\r')) {
        Some(i) if complete_end + i + 1 < open.len() => complete_end + i + 1,
        _ => complete_end,
    };
    let mut bp = BlockParser::new(refs);
    let mut starts: Vec<usize> = Vec::new();
    let mut complete_lines = 0u32;
    let mut certain = None;
    for (line, start) in lines(open) {
        if start >= complete_end && certain.is_none() {
            // Definitions found so far come from blocks closed by complete lines.
            certain = Some(bp.refs.clone());
        }
        if start < complete_end {
            complete_lines += 1;
        }
        starts.push(start);
        bp.add_line(line);
    }
    let certain = certain.unwrap_or_else(|| bp.refs.clone());
    // Which top-level blocks are final, before the end closes everything.
    let mut finals = Vec::new();
    let mut first_open = NIL;
    let mut child = bp.node(0).map_or(NIL, |n| n.first);
    while child != NIL {
        let Some(n) = bp.node(child) else { break };
        if n.closed_at != NIL && n.closed_at < complete_lines && first_open == NIL {
            finals.push(child);
        } else if first_open == NIL {
            first_open = child;
        }
        child = n.next;
    }
    bp.finish();
    Parsed {
        bp,
        starts,
        complete_end,
        certain,
        finals,
        first_open,
    }
}

/// The stream's text as HTML (Brook's flavour), for the app.
#[derive(Default)]
pub struct StreamRenderer {
    blocks: BlockStream,
    done: String,
    tail: String,
}

/// The HTML one push produced.
#[derive(Debug, PartialEq, Eq)]
pub struct Update<'a> {
    /// HTML of blocks that became final: append it once. Always empty when
    /// `tail` is `None` (blocks become final only when the tail is re-parsed).
    pub done: &'a str,
    /// HTML of the open part, replacing the previous tail; `None`: unchanged.
    pub tail: Option<&'a str>,
}

impl StreamRenderer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a token.
    pub fn push(&mut self, s: &str) -> Update<'_> {
        let step = self.blocks.push(s);
        let from = self.done.len();
        push_html(&mut self.done, &step.done);
        let changed = step.tail.is_some();
        if let Some(tail) = step.tail {
            self.tail.clear();
            push_html(&mut self.tail, &tail);
        }
        Update {
            done: self.done.get(from..).unwrap_or(""),
            tail: changed.then_some(self.tail.as_str()),
        }
    }

    /// Everything so far: final blocks, then the tail.
    pub fn html(&self) -> String {
        let mut s = String::with_capacity(self.done.len() + self.tail.len());
        s.push_str(&self.done);
        s.push_str(&self.tail);
        s
    }

    /// The whole reply's HTML, equal to [`crate::to_html`] of all the text.
    pub fn finish(mut self) -> String {
        match self.blocks.finish() {
            Finish::Tail(events) => {
                push_html(&mut self.done, &events);
                self.done
            }
            Finish::Whole(events) => {
                let mut s = String::new();
                push_html(&mut s, &events);
                s
            }
        }
    }
}
