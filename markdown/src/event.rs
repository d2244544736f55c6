//! The document model every renderer reads: a flat list of events, like
//! pulldown-cmark's, so that walking, rendering and dropping a document of any
//! nesting depth needs no recursion (contract §11).

/// Column alignment of a GFM table (from the delimiter row's colons).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    None,
    Left,
    Center,
    Right,
}

/// A container: opened by [`Event::Start`], closed by the matching [`Event::End`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tag {
    Paragraph,
    /// ATX or setext heading, level 1–6 as written (renderers may shift it).
    Heading(u8),
    BlockQuote,
    /// A fenced or indented code block; `info` is the unescaped info string
    /// (empty for indented code). Its text follows as one [`Event::Text`].
    CodeBlock {
        info: String,
    },
    /// Raw HTML the author wrote as a block. Brook never passes it through:
    /// renderers show the following [`Event::Html`] text as code.
    HtmlBlock,
    /// `start` is `Some(n)` for an ordered list. `tight` lists carry no
    /// paragraph tags inside their items (CommonMark §5.3).
    List {
        start: Option<u32>,
        tight: bool,
    },
    Item,
    Table(Vec<Align>),
    /// The header row: its cells follow directly.
    TableHead,
    TableRow,
    TableCell,
    Emphasis,
    Strong,
    Strikethrough,
    /// Any destination as written (after unescaping); renderers decide what is
    /// safe to make clickable (see [`crate::safe_url`]).
    Link {
        dest: String,
        title: String,
    },
    /// The children are the image description (alt text).
    Image {
        dest: String,
        title: String,
    },
}

/// One step of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Start(Tag),
    /// Closes the innermost open [`Event::Start`].
    End,
    Text(String),
    /// An inline code span.
    Code(String),
    /// Raw HTML (inline, or the text of an [`Tag::HtmlBlock`]): text to show, never markup.
    Html(String),
    SoftBreak,
    HardBreak,
    /// A thematic break.
    Rule,
}
