//! Block tree → events: an iterative walk over the arena (first child, next
//! sibling, parent), with each leaf's inline content parsed on the way.

use crate::block::{lines, BlockParser, Kind, RefMap, NIL};
use crate::event::{Event, Tag};
use crate::inline::{autolink, InlineParser};

/// Replaces NUL with U+FFFD (CommonMark §2.3) without copying clean input.
pub(crate) fn clean(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{fffd}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Appends the events of the block `root` (and everything inside it).
pub(crate) fn block_events(bp: &BlockParser<'_>, inline: &mut InlineParser<'_>, root: u32, out: &mut Vec<Event>) {
    let mut cur = root;
    loop {
        let container = enter(bp, inline, cur, out);
        let first = bp.node(cur).map_or(NIL, |n| n.first);
        if container && first != NIL {
            cur = first;
            continue;
        }
        if container {
            out.push(Event::End);
        }
        // Climb until a next sibling exists, closing containers on the way.
        loop {
            if cur == root {
                return;
            }
            let Some(n) = bp.node(cur) else { return };
            if n.next != NIL {
                cur = n.next;
                break;
            }
            cur = n.parent;
            if bp.node(cur).is_some_and(|p| !matches!(p.kind, Kind::Document)) {
                out.push(Event::End);
            }
            if cur == root || cur == NIL {
                return;
            }
        }
    }
}

fn in_tight_item(bp: &BlockParser<'_>, i: u32) -> bool {
    let Some(item) = bp.node(i).and_then(|n| bp.node(n.parent)) else {
        return false;
    };
    matches!(item.kind, Kind::Item(_))
        && bp
            .node(item.parent)
            .is_some_and(|l| matches!(l.kind, Kind::List(d) if d.tight))
}

/// Emits a node's opening (containers) or all of it (leaves); true for containers.
fn enter(bp: &BlockParser<'_>, inline: &mut InlineParser<'_>, i: u32, out: &mut Vec<Event>) -> bool {
    let Some(n) = bp.node(i) else { return false };
    let inlines = |inline: &mut InlineParser<'_>, text: &str, out: &mut Vec<Event>| {
        let from = out.len();
        inline.parse(text, out);
        autolink::extend(out, from);
    };
    match &n.kind {
        Kind::Document => return true,
        Kind::BlockQuote => out.push(Event::Start(Tag::BlockQuote)),
        Kind::List(d) => {
            out.push(Event::Start(Tag::List {
                start: d.ordered.then_some(d.start),
                tight: d.tight,
            }));
        }
        Kind::Item(_) => out.push(Event::Start(Tag::Item)),
        Kind::Paragraph => {
            let tight = in_tight_item(bp, i);
            if !tight {
                out.push(Event::Start(Tag::Paragraph));
            }
            inlines(inline, &n.text, out);
            if !tight {
                out.push(Event::End);
            }
            return false;
        }
        Kind::Heading(level) => {
            out.push(Event::Start(Tag::Heading(*level)));
            inlines(inline, &n.text, out);
            out.push(Event::End);
            return false;
        }
        Kind::ThematicBreak => {
            out.push(Event::Rule);
            return false;
        }
        Kind::Code { info, .. } => {
            out.push(Event::Start(Tag::CodeBlock { info: info.clone() }));
            if !n.text.is_empty() {
                out.push(Event::Text(n.text.clone()));
            }
            out.push(Event::End);
            return false;
        }
        Kind::Html(_) => {
            out.push(Event::Start(Tag::HtmlBlock));
            out.push(Event::Html(n.text.clone()));
            out.push(Event::End);
            return false;
        }
        Kind::Table(aligns) => {
            table_events(inline, aligns, &n.text, out);
            return false;
        }
        Kind::Removed => return false,
    }
    true
}

/// A table's events; rows are padded or cut to the header's width (GFM).
fn table_events(inline: &mut InlineParser<'_>, aligns: &[crate::event::Align], text: &str, out: &mut Vec<Event>) {
    let cell = |inline: &mut InlineParser<'_>, text: Option<&String>, out: &mut Vec<Event>| {
        out.push(Event::Start(Tag::TableCell));
        if let Some(t) = text {
            let from = out.len();
            inline.parse(t, out);
            autolink::extend(out, from);
        }
        out.push(Event::End);
    };
    out.push(Event::Start(Tag::Table(aligns.to_vec())));
    let mut rows = text.lines();
    out.push(Event::Start(Tag::TableHead));
    for c in crate::block::table_cells(rows.next().unwrap_or(""))
        .iter()
        .take(aligns.len())
    {
        cell(inline, Some(c), out);
    }
    out.push(Event::End);
    for row in rows {
        out.push(Event::Start(Tag::TableRow));
        let cells = crate::block::table_cells(row);
        for k in 0..aligns.len() {
            cell(inline, cells.get(k), out);
        }
        out.push(Event::End);
    }
    out.push(Event::End);
}

/// Markdown → events (the whole document).
pub fn parse(text: &str) -> Vec<Event> {
    let text = clean(text);
    let none = RefMap::new();
    let mut bp = BlockParser::new(&none);
    for (line, _) in lines(&text) {
        bp.add_line(line);
    }
    bp.finish();
    let refs = std::mem::take(&mut bp.refs);
    let mut inline = InlineParser::new(&none, &refs);
    let mut out = Vec::new();
    let mut child = bp.node(0).map_or(NIL, |n| n.first);
    while child != NIL {
        block_events(&bp, &mut inline, child, &mut out);
        child = bp.node(child).map_or(NIL, |n| n.next);
    }
    out
}
