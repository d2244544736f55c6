//! Events → HTML, Brook's flavour: every character of text is escaped, the only
//! tags are written here, and links point only at safe URLs
//! ([`crate::safe_url`]); raw HTML is shown as code, images as links (see
//! `docs/decisions.md`). One pass with an explicit stack: no recursion.

use crate::event::{Align, Event, Tag};
use crate::highlight::highlight;
use crate::safe_url;

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(out: &mut String, s: &str) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(s.get(last..i).unwrap_or(""));
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(s.get(last..).unwrap_or(""));
}

/// Writes a URL for an `href`: percent-encodes what is not URL-safe (as cmark
/// does) and escapes `&` and `'` for the attribute.
pub(crate) fn escape_href(out: &mut String, url: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in url.bytes() {
        match b {
            b'&' => out.push_str("&amp;"),
            b'\'' => out.push_str("&#39;"),
            b if b.is_ascii_alphanumeric() || b"-_.+!*(),%#@?=;:/$~".contains(&b) => out.push(b as char),
            b => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
}

fn align_attr(a: Option<&Align>) -> &'static str {
    match a {
        Some(Align::Left) => " align=\"left\"",
        Some(Align::Center) => " align=\"center\"",
        Some(Align::Right) => " align=\"right\"",
        _ => "",
    }
}

/// The code block's language label: the info string's first word, at most 20 characters.
pub fn code_language(info: &str) -> String {
    info.split_whitespace().next().unwrap_or("").chars().take(20).collect()
}

/// What an open tag needs at its end.
enum Open {
    Close(&'static str),
    /// A table: whether `<tbody>` was opened.
    Table(bool),
    /// An image shown as a link (`true`) or as its text; `usize` marks where its text began.
    Image(bool, usize, String),
    Nothing,
}

/// Renders events as HTML into `out` (Brook's flavour).
pub fn push_html(out: &mut String, events: &[Event]) {
    let mut w = Writer {
        out,
        stack: Vec::new(),
        aligns: Vec::new(),
        cell: 0,
        in_head: false,
        code_lang: None,
        alt: 0,
        links: 0,
    };
    for e in events {
        w.event(e);
    }
    // Unbalanced input cannot come from the parser; close whatever is open anyway.
    while let Some(o) = w.stack.pop() {
        match o {
            Open::Close(s) => w.out.push_str(s),
            Open::Table(_) => w.out.push_str("</table></div>"),
            Open::Image(true, _, _) => w.out.push_str("</a>"),
            _ => {}
        }
    }
}

/// The walk's state: an explicit stack of open tags (no recursion).
struct Writer<'o> {
    out: &'o mut String,
    stack: Vec<Open>,
    aligns: Vec<Align>,
    cell: usize,
    in_head: bool,
    /// Inside a code block: its language, for the highlighter.
    code_lang: Option<String>,
    /// Inside an image: text only.
    alt: usize,
    /// Inside a link: no nested anchors.
    links: usize,
}

impl Writer<'_> {
    fn event(&mut self, e: &Event) {
        match e {
            Event::Start(_) if self.alt > 0 => self.stack.push(Open::Nothing),
            Event::Start(tag) => {
                if let (Tag::TableRow, Some(Open::Table(tbody @ false))) = (tag, self.stack.last_mut()) {
                    *tbody = true;
                    self.out.push_str("<tbody>");
                }
                let open = match self.block(tag) {
                    Some(open) => open,
                    None => self.inline(tag),
                };
                self.stack.push(open);
            }
            Event::End => self.end(),
            Event::Text(t) => match &self.code_lang {
                Some(lang) if self.alt == 0 => highlighted(self.out, t, lang),
                _ => escape(self.out, t),
            },
            Event::Code(c) if self.alt > 0 => escape(self.out, c),
            Event::Code(c) => {
                self.out.push_str("<code>");
                escape(self.out, c);
                self.out.push_str("</code>");
            }
            Event::Html(h) => escape(self.out, h),
            Event::SoftBreak => self.out.push(if self.alt > 0 { ' ' } else { '\n' }),
            Event::HardBreak if self.alt > 0 => self.out.push(' '),
            Event::HardBreak => self.out.push_str("<br>"),
            Event::Rule => self.out.push_str("<hr>"),
        }
    }

    fn end(&mut self) {
        match self.stack.pop() {
            Some(Open::Close(s)) => {
                match s {
                    "</a>" => self.links = self.links.saturating_sub(1),
                    "</code></pre></div>" => self.code_lang = None,
                    "</tr></thead>" => self.in_head = false,
                    _ => {}
                }
                self.out.push_str(s);
            }
            Some(Open::Table(tbody)) => {
                if tbody {
                    self.out.push_str("</tbody>");
                }
                self.out.push_str("</table></div>");
            }
            Some(Open::Image(link, mark, dest)) => {
                self.alt = self.alt.saturating_sub(1);
                if link {
                    if self.out.len() == mark {
                        escape(self.out, &dest);
                    }
                    self.out.push_str("</a>");
                }
            }
            _ => {}
        }
    }

    fn open(&mut self, open: &str, close: &'static str) -> Open {
        self.out.push_str(open);
        Open::Close(close)
    }

    /// Block tags; `None` for inline ones.
    fn block(&mut self, tag: &Tag) -> Option<Open> {
        let open = match tag {
            Tag::Paragraph => self.open("<p>", "</p>"),
            // Reply headings sit below the page's own: h1 becomes h3.
            Tag::Heading(level) => match level.saturating_add(2).min(6) {
                3 => self.open("<h3>", "</h3>"),
                4 => self.open("<h4>", "</h4>"),
                5 => self.open("<h5>", "</h5>"),
                _ => self.open("<h6>", "</h6>"),
            },
            Tag::BlockQuote => self.open("<blockquote>", "</blockquote>"),
            Tag::CodeBlock { info } => {
                let lang = code_language(info);
                code_open(self.out, &lang);
                self.code_lang = Some(lang);
                Open::Close("</code></pre></div>")
            }
            Tag::HtmlBlock => {
                code_open(self.out, "html");
                self.code_lang = Some("html".into());
                Open::Close("</code></pre></div>")
            }
            Tag::List { start: None, .. } => self.open("<ul>", "</ul>"),
            Tag::List { start: Some(1), .. } => self.open("<ol>", "</ol>"),
            Tag::List { start: Some(n), .. } => {
                self.out.push_str("<ol start=\"");
                self.out.push_str(&n.to_string());
                self.open("\">", "</ol>")
            }
            Tag::Item => self.open("<li>", "</li>"),
            Tag::Table(a) => {
                self.aligns.clone_from(a);
                self.out.push_str("<div class=\"table\"><table>");
                Open::Table(false)
            }
            Tag::TableHead => {
                self.in_head = true;
                self.cell = 0;
                self.open("<thead><tr>", "</tr></thead>")
            }
            Tag::TableRow => {
                self.cell = 0;
                self.open("<tr>", "</tr>")
            }
            Tag::TableCell => {
                let a = align_attr(self.aligns.get(self.cell));
                self.cell += 1;
                let (open, close) = if self.in_head {
                    ("<th", "</th>")
                } else {
                    ("<td", "</td>")
                };
                self.out.push_str(open);
                self.out.push_str(a);
                self.open(">", close)
            }
            _ => return None,
        };
        Some(open)
    }

    fn inline(&mut self, tag: &Tag) -> Open {
        match tag {
            Tag::Emphasis => self.open("<em>", "</em>"),
            Tag::Strong => self.open("<strong>", "</strong>"),
            Tag::Strikethrough => self.open("<del>", "</del>"),
            Tag::Link { dest, title } if self.links == 0 && safe_url(dest) => {
                self.links += 1;
                link_open(self.out, dest, title);
                Open::Close("</a>")
            }
            Tag::Image { dest, title } => {
                self.alt += 1;
                let link = self.links == 0 && safe_url(dest);
                if link {
                    link_open(self.out, dest, title);
                }
                Open::Image(link, self.out.len(), dest.clone())
            }
            _ => Open::Nothing,
        }
    }
}

/// Code, split by the highlighter into classed spans.
fn highlighted(out: &mut String, text: &str, lang: &str) {
    for tok in highlight(text, lang) {
        match tok.kind.class() {
            Some(class) => {
                out.push_str("<span class=\"");
                out.push_str(class);
                out.push_str("\">");
                escape(out, &tok.text);
                out.push_str("</span>");
            }
            None => escape(out, &tok.text),
        }
    }
}

fn code_open(out: &mut String, lang: &str) {
    out.push_str("<div class=\"code\"><div class=\"code-bar\"><span class=\"code-lang\">");
    escape(out, if lang.is_empty() { "text" } else { lang });
    out.push_str(
        "</span><button type=\"button\" class=\"copy\" data-copy aria-label=\"Copy code\">Copy</button></div><pre tabindex=\"0\"><code>",
    );
}

fn link_open(out: &mut String, dest: &str, title: &str) {
    out.push_str("<a href=\"");
    escape_href(out, dest.trim());
    out.push('"');
    if !title.is_empty() {
        out.push_str(" title=\"");
        escape(out, title);
        out.push('"');
    }
    out.push_str(" target=\"_blank\" rel=\"noopener noreferrer nofollow\">");
}
