//! Block starts (CommonMark §4, §5; GFM tables), tried in the spec's order.

use super::{html, table, BlockParser, Kind, ListData, CODE_INDENT, MAX_DEPTH};
use crate::chars::is_space_tab;

impl<'a> BlockParser<'a> {
    /// Tries each block start at the current position: 0 none, 1 a container
    /// started, 2 a leaf started (the rest of the line is its content).
    pub(super) fn try_starts(&mut self, container: u32) -> u8 {
        let deep = self.node(container).map_or(0, |n| n.depth) >= MAX_DEPTH;
        if !deep && self.block_quote() {
            return 1;
        }
        if self.atx_heading() || self.fenced_code() || self.html_block(container) || self.setext(container) {
            return 2;
        }
        if self.table_start(container) || self.thematic_break() {
            return 2;
        }
        if !deep && self.list_item(container) {
            return 1;
        }
        if self.indented_code(container) {
            return 2;
        }
        0
    }

    fn block_quote(&mut self) -> bool {
        if self.indented || self.byte(self.next_nonspace) != Some(b'>') {
            return false;
        }
        self.advance_next_nonspace();
        self.advance_offset(1, false);
        if self.byte(self.offset).is_some_and(is_space_tab) {
            self.advance_offset(1, true);
        }
        self.close_unmatched();
        self.add_child(Kind::BlockQuote, self.next_nonspace);
        true
    }

    fn atx_heading(&mut self) -> bool {
        if self.indented {
            return false;
        }
        let rest = self.rest_nonspace();
        let b = rest.as_bytes();
        let level = b.iter().take_while(|&&c| c == b'#').count();
        if !(1..=6).contains(&level) || b.get(level).is_some_and(|&c| !is_space_tab(c)) {
            return false;
        }
        self.advance_next_nonspace();
        self.advance_offset(level, false);
        self.close_unmatched();
        let h = self.add_child(Kind::Heading(level as u8), self.next_nonspace);
        // Strip the optional closing sequence: spaces, #s, spaces at the end.
        let content = self.rest();
        let t = content.trim_end_matches([' ', '\t']);
        let stripped = t.trim_end_matches('#');
        let text = if stripped.len() == t.len() {
            t
        } else if stripped.is_empty() {
            ""
        } else if stripped.ends_with([' ', '\t']) {
            stripped
        } else {
            t
        };
        self.n(h).text = text.to_string();
        self.offset = self.line.len();
        true
    }

    fn fenced_code(&mut self) -> bool {
        if self.indented {
            return false;
        }
        let rest = self.rest_nonspace();
        let b = rest.as_bytes();
        let Some(&ch) = b.first() else { return false };
        if ch != b'`' && ch != b'~' {
            return false;
        }
        let n = b.iter().take_while(|&&c| c == ch).count();
        if n < 3 || (ch == b'`' && b.get(n..).is_some_and(|r| r.contains(&b'`'))) {
            return false;
        }
        self.close_unmatched();
        let fence = Some((ch, n, self.indent));
        self.add_child(
            Kind::Code {
                fence,
                info: String::new(),
            },
            self.next_nonspace,
        );
        self.advance_next_nonspace();
        self.advance_offset(n, false);
        true
    }

    fn html_block(&mut self, container: u32) -> bool {
        if self.indented || self.byte(self.next_nonspace) != Some(b'<') {
            return false;
        }
        let s = self.rest_nonspace();
        let Some(t) = html::starts(s) else { return false };
        let lazy = !self.all_closed && !self.blank && matches!(self.kind(self.tip), Kind::Paragraph);
        // Type 7 cannot interrupt a paragraph (CommonMark §4.6), nor a GFM
        // table: the line is the table's next row, as in pulldown-cmark.
        if t == 7 && (matches!(self.kind(container), Kind::Paragraph | Kind::Table(_)) || lazy) {
            return false;
        }
        self.close_unmatched();
        self.add_child(Kind::Html(t), self.offset);
        true
    }

    fn setext(&mut self, container: u32) -> bool {
        if self.indented || !matches!(self.kind(container), Kind::Paragraph) {
            return false;
        }
        let b = self.rest_nonspace().as_bytes();
        let Some(&ch) = b.first() else { return false };
        if ch != b'=' && ch != b'-' {
            return false;
        }
        let n = b.iter().take_while(|&&c| c == ch).count();
        if !b.get(n..).is_some_and(|r| r.iter().all(|&c| is_space_tab(c))) {
            return false;
        }
        self.close_unmatched();
        let text = std::mem::take(&mut self.n(container).text);
        let used = crate::inline::link::parse_ref_defs(&text, &mut self.refs, self.base);
        let rest = text.get(used..).unwrap_or("");
        if rest.is_empty() {
            // Only definitions: no heading; the paragraph stays open (commonmark.js),
            // and the underline is read as whatever else it can be.
            self.n(container).text = String::new();
            return false;
        }
        let node = self.n(container);
        node.text = rest.to_string();
        node.kind = Kind::Heading(if ch == b'=' { 1 } else { 2 });
        self.offset = self.line.len();
        true
    }

    fn table_start(&mut self, container: u32) -> bool {
        if self.indented || !matches!(self.kind(container), Kind::Paragraph) {
            return false;
        }
        let Some(aligns) = table::delimiter_row(self.rest_nonspace()) else {
            return false;
        };
        let text = &self.node(container).map_or("", |n| n.text.as_str());
        let body = text.strip_suffix('\n').unwrap_or(text);
        let (before, header) = match body.rfind('\n') {
            Some(p) => (body.get(..=p).unwrap_or(""), body.get(p + 1..).unwrap_or("")),
            None => ("", body),
        };
        if table::cells(header).len() != aligns.len() {
            return false;
        }
        let header = header.to_string();
        let before = before.to_string();
        self.close_unmatched();
        if before.is_empty() {
            let n = self.n(container);
            n.kind = Kind::Table(aligns);
            n.text = header;
            n.text.push('\n');
        } else {
            self.n(container).text = before;
            let ln = self.line_number.saturating_sub(1);
            self.finalize(container, ln, true);
            // The paragraph may have been only definitions; either way the table follows it.
            let t = self.add_child(Kind::Table(aligns), self.next_nonspace);
            // The table begins at its header row, the line before this one.
            self.n(t).start_line = self.line_number.saturating_sub(1);
            self.n(t).text = header;
            self.n(t).text.push('\n');
        }
        self.offset = self.line.len();
        self.table_started = true;
        true
    }

    fn thematic_break(&mut self) -> bool {
        if self.indented {
            return false;
        }
        let b = self.rest_nonspace().as_bytes();
        let Some(&ch) = b.first() else { return false };
        if ch != b'*' && ch != b'-' && ch != b'_' {
            return false;
        }
        let mut count = 0;
        for &c in b {
            if c == ch {
                count += 1;
            } else if !is_space_tab(c) {
                return false;
            }
        }
        if count < 3 {
            return false;
        }
        self.close_unmatched();
        self.add_child(Kind::ThematicBreak, self.next_nonspace);
        self.offset = self.line.len();
        true
    }

    fn list_item(&mut self, container: u32) -> bool {
        let in_list = matches!(self.kind(container), Kind::List(_));
        if self.indented && !in_list {
            return false;
        }
        let Some(data) = self.list_marker(container) else {
            return false;
        };
        self.close_unmatched();
        let same = match self.kind(self.tip) {
            Kind::List(d) => d.ordered == data.ordered && d.marker == data.marker,
            _ => false,
        };
        if !same {
            self.add_child(Kind::List(data), self.next_nonspace);
        }
        self.add_child(Kind::Item(data), self.next_nonspace);
        true
    }

    fn list_marker(&mut self, container: u32) -> Option<ListData> {
        if self.indent >= 4 {
            return None;
        }
        let rest = self.rest_nonspace().as_bytes();
        let para = matches!(self.kind(container), Kind::Paragraph);
        let first = *rest.first()?;
        let (ordered, marker, start, len) = if matches!(first, b'*' | b'+' | b'-') {
            (false, first, 0, 1)
        } else {
            let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || digits > 9 {
                return None;
            }
            let delim = *rest.get(digits)?;
            if delim != b'.' && delim != b')' {
                return None;
            }
            let start = rest
                .get(..digits)?
                .iter()
                .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
            if para && start != 1 {
                return None;
            }
            (true, delim, start, digits + 1)
        };
        match rest.get(len) {
            None => {}
            Some(&c) if is_space_tab(c) => {}
            _ => return None,
        }
        if para && rest.get(len..).is_none_or(|r| r.iter().all(|&c| is_space_tab(c))) {
            return None;
        }
        let marker_offset = self.indent;
        self.advance_next_nonspace();
        self.advance_offset(len, true);
        let (start_col, start_off) = (self.column, self.offset);
        loop {
            self.advance_offset(1, true);
            let next = self.byte(self.offset);
            if !(self.column - start_col < 5 && next.is_some_and(is_space_tab)) {
                break;
            }
        }
        let blank_item = self.byte(self.offset).is_none();
        let spaces = self.column - start_col;
        let padding = if !(1..5).contains(&spaces) || blank_item {
            self.column = start_col;
            self.offset = start_off;
            self.partially_consumed_tab = false;
            if self.byte(self.offset).is_some_and(is_space_tab) {
                self.advance_offset(1, true);
            }
            len + 1
        } else {
            len + spaces
        };
        Some(ListData {
            ordered,
            marker,
            start,
            marker_offset,
            padding,
            tight: true,
        })
    }

    fn indented_code(&mut self, container: u32) -> bool {
        // Not inside a paragraph (lazy or not), nor as a table's next row.
        let in_table = matches!(self.kind(container), Kind::Table(_));
        if !self.indented || matches!(self.kind(self.tip), Kind::Paragraph) || in_table || self.blank {
            return false;
        }
        self.advance_offset(CODE_INDENT, true);
        self.close_unmatched();
        self.add_child(
            Kind::Code {
                fence: None,
                info: String::new(),
            },
            self.offset,
        );
        true
    }
}
