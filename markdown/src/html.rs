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
    let mut stack: Vec<Open> = Vec::new();
    let mut aligns: Vec<Align> = Vec::new();
    let mut cell = 0usize;
    let mut in_head = false;
    let mut code_lang: Option<String> = None;
    // Inside an image: text only. Inside a link: no nested anchors.
    let mut alt = 0usize;
    let mut links = 0usize;
    for e in events {
        match e {
            Event::Start(tag) if alt > 0 => {
                stack.push(Open::Nothing);
                let _ = tag;
            }
            Event::Start(tag) => {
                if let (Tag::TableRow, Some(Open::Table(tbody @ false))) = (tag, stack.last_mut()) {
                    *tbody = true;
                    out.push_str("<tbody>");
                }
                let mut st = StartState {
                    aligns: &mut aligns,
                    cell: &mut cell,
                    in_head: &mut in_head,
                    code_lang: &mut code_lang,
                    alt: &mut alt,
                    links: &mut links,
                };
                stack.push(start(out, tag, &mut st));
            }
            Event::End => match stack.pop() {
                Some(Open::Close(s)) => {
                    if s == "</a>" {
                        links = links.saturating_sub(1);
                    }
                    if s == "</code></pre></div>" {
                        code_lang = None;
                    }
                    if s == "</tr></thead>" {
                        in_head = false;
                    }
                    out.push_str(s);
                }
                Some(Open::Table(tbody)) => {
                    if tbody {
                        out.push_str("</tbody>");
                    }
                    out.push_str("</table></div>");
                }
                Some(Open::Image(link, mark, dest)) => {
                    alt = alt.saturating_sub(1);
                    if link {
                        if out.len() == mark {
                            escape(out, &dest);
                        }
                        out.push_str("</a>");
                    }
                }
                _ => {}
            },
            Event::Text(t) => match &code_lang {
                Some(lang) if alt == 0 => {
                    for tok in highlight(t, lang) {
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
                _ => escape(out, t),
            },
            Event::Code(c) if alt > 0 => escape(out, c),
            Event::Code(c) => {
                out.push_str("<code>");
                escape(out, c);
                out.push_str("</code>");
            }
            Event::Html(h) => escape(out, h),
            Event::SoftBreak => out.push(if alt > 0 { ' ' } else { '\n' }),
            Event::HardBreak if alt > 0 => out.push(' '),
            Event::HardBreak => out.push_str("<br>"),
            Event::Rule => out.push_str("<hr>"),
        }
    }
    // Unbalanced input cannot come from the parser; close whatever is open anyway.
    while let Some(o) = stack.pop() {
        match o {
            Open::Close(s) => out.push_str(s),
            Open::Table(_) => out.push_str("</table></div>"),
            Open::Image(true, _, _) => out.push_str("</a>"),
            _ => {}
        }
    }
}

struct StartState<'a> {
    aligns: &'a mut Vec<Align>,
    cell: &'a mut usize,
    in_head: &'a mut bool,
    code_lang: &'a mut Option<String>,
    alt: &'a mut usize,
    links: &'a mut usize,
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

fn start(out: &mut String, tag: &Tag, st: &mut StartState<'_>) -> Open {
    match tag {
        Tag::Paragraph => {
            out.push_str("<p>");
            Open::Close("</p>")
        }
        Tag::Heading(level) => {
            // Reply headings sit below the page's own: h1 becomes h3.
            let (open, close) = match level.saturating_add(2).min(6) {
                3 => ("<h3>", "</h3>"),
                4 => ("<h4>", "</h4>"),
                5 => ("<h5>", "</h5>"),
                _ => ("<h6>", "</h6>"),
            };
            out.push_str(open);
            Open::Close(close)
        }
        Tag::BlockQuote => {
            out.push_str("<blockquote>");
            Open::Close("</blockquote>")
        }
        Tag::CodeBlock { info } => {
            let lang = code_language(info);
            code_open(out, &lang);
            *st.code_lang = Some(lang);
            Open::Close("</code></pre></div>")
        }
        Tag::HtmlBlock => {
            code_open(out, "html");
            *st.code_lang = Some("html".into());
            Open::Close("</code></pre></div>")
        }
        Tag::List { start: None, .. } => {
            out.push_str("<ul>");
            Open::Close("</ul>")
        }
        Tag::List { start: Some(n), .. } => {
            if *n == 1 {
                out.push_str("<ol>");
            } else {
                out.push_str("<ol start=\"");
                out.push_str(&n.to_string());
                out.push_str("\">");
            }
            Open::Close("</ol>")
        }
        Tag::Item => {
            out.push_str("<li>");
            Open::Close("</li>")
        }
        Tag::Table(a) => {
            st.aligns.clone_from(a);
            out.push_str("<div class=\"table\"><table>");
            Open::Table(false)
        }
        Tag::TableHead => {
            *st.in_head = true;
            *st.cell = 0;
            out.push_str("<thead><tr>");
            Open::Close("</tr></thead>")
        }
        Tag::TableRow => {
            *st.cell = 0;
            out.push_str("<tr>");
            Open::Close("</tr>")
        }
        Tag::TableCell => {
            let a = align_attr(st.aligns.get(*st.cell));
            *st.cell += 1;
            let (open, close) = if *st.in_head {
                ("<th", "</th>")
            } else {
                ("<td", "</td>")
            };
            out.push_str(open);
            out.push_str(a);
            out.push('>');
            Open::Close(close)
        }
        Tag::Emphasis => {
            out.push_str("<em>");
            Open::Close("</em>")
        }
        Tag::Strong => {
            out.push_str("<strong>");
            Open::Close("</strong>")
        }
        Tag::Strikethrough => {
            out.push_str("<del>");
            Open::Close("</del>")
        }
        Tag::Link { dest, title } => {
            if *st.links == 0 && safe_url(dest) {
                *st.links += 1;
                link_open(out, dest, title);
                Open::Close("</a>")
            } else {
                Open::Nothing
            }
        }
        Tag::Image { dest, title } => {
            *st.alt += 1;
            let link = *st.links == 0 && safe_url(dest);
            if link {
                link_open(out, dest, title);
            }
            Open::Image(link, out.len(), dest.clone())
        }
    }
}
