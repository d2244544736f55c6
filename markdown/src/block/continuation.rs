//! Line by line: whether each open block continues on the current line
//! (CommonMark §5's first step), and the cursor over the line's columns
//! (tabs count to the next multiple of 4, §2.2).

use super::{BlockParser, Kind, ListData, CODE_INDENT, NIL};
use crate::chars::is_space_tab;

impl BlockParser<'_> {
    /// Whether an open block continues on this line: 0 yes, 1 no, 2 the line is consumed.
    pub(super) fn continues(&mut self, c: u32) -> u8 {
        // A cheap copy of what the match needs (no String or Vec cloned per line).
        let kind = match self.kind(c) {
            Kind::Code { fence, .. } => Kind::Code {
                fence: *fence,
                info: String::new(),
            },
            Kind::Table(_) => Kind::Table(Vec::new()),
            Kind::List(d) => Kind::List(*d),
            Kind::Item(d) => Kind::Item(*d),
            Kind::Heading(l) => Kind::Heading(*l),
            Kind::Html(t) => Kind::Html(*t),
            Kind::Document => Kind::Document,
            Kind::BlockQuote => Kind::BlockQuote,
            Kind::Paragraph => Kind::Paragraph,
            Kind::ThematicBreak => Kind::ThematicBreak,
            Kind::Removed => Kind::Removed,
        };
        match kind {
            Kind::Document | Kind::List(_) => 0,
            Kind::BlockQuote => self.continues_quote(),
            Kind::Item(d) => self.continues_item(c, &d),
            Kind::Heading(_) | Kind::ThematicBreak | Kind::Removed => 1,
            Kind::Code {
                fence: Some((ch, len, fence_offset)),
                ..
            } => self.continues_fence(c, ch, len, fence_offset),
            Kind::Code { fence: None, .. } => self.continues_indented_code(),
            Kind::Html(t) => u8::from(self.blank && (t == 6 || t == 7)),
            Kind::Paragraph | Kind::Table(_) => u8::from(self.blank),
        }
    }

    /// A block quote continues on a line starting with `>` (§5.1).
    fn continues_quote(&mut self) -> u8 {
        if !self.indented && self.byte(self.next_nonspace) == Some(b'>') {
            self.advance_next_nonspace();
            self.advance_offset(1, false);
            if self.byte(self.offset).is_some_and(is_space_tab) {
                self.advance_offset(1, true);
            }
            0
        } else {
            1
        }
    }

    /// A list item continues on a blank line (unless it is still empty) or a
    /// line indented to its content (§5.2).
    fn continues_item(&mut self, c: u32, d: &ListData) -> u8 {
        if self.blank {
            if self.node(c).is_some_and(|n| n.first == NIL) {
                return 1;
            }
            self.advance_next_nonspace();
        } else if self.indent >= d.marker_offset + d.padding {
            self.advance_offset(d.marker_offset + d.padding, true);
        } else {
            return 1;
        }
        0
    }

    /// A fenced code block goes on until a closing fence of the same
    /// character, at least as long (§4.5); its opening indentation is removed.
    fn continues_fence(&mut self, c: u32, ch: u8, len: usize, fence_offset: usize) -> u8 {
        if self.indent <= 3 && self.byte(self.next_nonspace) == Some(ch) {
            let rest = self.rest_nonspace().as_bytes();
            let n = rest.iter().take_while(|&&b| b == ch).count();
            if n >= len && rest.get(n..).is_some_and(|r| r.iter().all(|&b| is_space_tab(b))) {
                let ln = self.line_number;
                self.finalize(c, ln, true);
                return 2;
            }
        }
        let mut i = fence_offset;
        while i > 0 && self.byte(self.offset).is_some_and(is_space_tab) {
            self.advance_offset(1, true);
            i -= 1;
        }
        0
    }

    /// An indented code block continues on lines indented 4 columns, or blank (§4.4).
    fn continues_indented_code(&mut self) -> u8 {
        if self.indent >= CODE_INDENT {
            self.advance_offset(CODE_INDENT, true);
            0
        } else if self.blank {
            self.advance_next_nonspace();
            0
        } else {
            1
        }
    }

    pub(super) fn find_next_nonspace(&mut self) {
        let b = self.line.as_bytes();
        let mut i = self.offset;
        let mut cols = self.column;
        while let Some(&c) = b.get(i) {
            match c {
                b' ' => {
                    i += 1;
                    cols += 1;
                }
                b'\t' => {
                    i += 1;
                    cols += 4 - (cols % 4);
                }
                _ => break,
            }
        }
        self.blank = i >= b.len();
        self.next_nonspace = i;
        self.next_nonspace_column = cols;
        self.indent = cols - self.column;
        self.indented = self.indent >= CODE_INDENT;
    }

    pub(super) fn advance_next_nonspace(&mut self) {
        self.offset = self.next_nonspace;
        self.column = self.next_nonspace_column;
        self.partially_consumed_tab = false;
    }

    pub(super) fn advance_offset(&mut self, mut count: usize, columns: bool) {
        while count > 0 {
            let Some(c) = self.byte(self.offset) else { break };
            if c == b'\t' {
                let to_tab = 4 - (self.column % 4);
                if columns {
                    self.partially_consumed_tab = to_tab > count;
                    let adv = to_tab.min(count);
                    self.column += adv;
                    if !self.partially_consumed_tab {
                        self.offset += 1;
                    }
                    count -= adv;
                } else {
                    self.partially_consumed_tab = false;
                    self.column += to_tab;
                    self.offset += 1;
                    count -= 1;
                }
            } else {
                self.partially_consumed_tab = false;
                self.offset += 1;
                self.column += 1;
                count -= 1;
            }
        }
    }
}
