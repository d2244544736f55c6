//! Events → CommonMark's reference HTML (the spec's output shape: raw HTML
//! passed through, `<img>`, every link kept, newlines after block tags).

use brook_markdown::{Align, Event, Tag};

fn esc(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

fn esc_href(out: &mut String, s: &str) {
    for b in s.bytes() {
        match b {
            b'&' => out.push_str("&amp;"),
            b'\'' => out.push_str("&#x27;"),
            b if b.is_ascii_alphanumeric() || b"-_.+!*(),%#@?=;:/$~".contains(&b) => out.push(b as char),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
}

/// Events → CommonMark's reference HTML.
pub fn reference_html(events: &[Event]) -> String {
    let mut r = Reference::default();
    for e in events {
        if r.alt > 0 {
            r.in_alt(e);
        } else {
            r.event(e);
        }
    }
    r.out
}

/// The renderer's state between events.
#[derive(Default)]
struct Reference {
    out: String,
    /// What each open tag's end writes (or a marker: `IMG`, `TABLE`, `RAWBLOCK`).
    stack: Vec<String>,
    /// Depth of images being written as an `alt` attribute (0: none).
    alt: usize,
    aligns: Vec<Align>,
    cell: usize,
    head: bool,
    /// Per open table: whether its `<tbody>` was opened.
    tbody: Vec<bool>,
}

impl Reference {
    /// Inside an image: everything is the `alt` text, until the image ends.
    fn in_alt(&mut self, e: &Event) {
        match e {
            Event::Start(Tag::Image { .. }) => {
                self.alt += 1;
                self.stack.push("IMG".into());
            }
            Event::Start(_) => self.stack.push(String::new()),
            Event::End => {
                let s = self.stack.pop().unwrap_or_default();
                if s == "IMG" {
                    self.alt -= 1;
                    if self.alt == 0 {
                        self.out.push_str("\" />");
                    }
                }
            }
            Event::Text(t) | Event::Code(t) | Event::Html(t) => esc(&mut self.out, t),
            Event::SoftBreak | Event::HardBreak => self.out.push('\n'),
            Event::Rule => {}
        }
    }

    fn event(&mut self, e: &Event) {
        let out = &mut self.out;
        match e {
            Event::Start(tag) => {
                let close = self.start(tag);
                self.stack.push(close);
            }
            Event::End => self.end(),
            Event::Text(t) => esc(out, t),
            Event::Code(c) => {
                out.push_str("<code>");
                esc(out, c);
                out.push_str("</code>");
            }
            Event::Html(h) => out.push_str(h),
            Event::SoftBreak => out.push('\n'),
            Event::HardBreak => out.push_str("<br />\n"),
            Event::Rule => out.push_str("<hr />\n"),
        }
    }

    fn end(&mut self) {
        let c = self.stack.pop().unwrap_or_default();
        match c.as_str() {
            "RAWBLOCK" => self.out.push('\n'),
            "TABLE" => {
                if self.tbody.pop() == Some(true) {
                    self.out.push_str("</tbody>\n");
                }
                self.out.push_str("</table>\n");
            }
            "</tr>\n</thead>\n" => {
                self.head = false;
                self.out.push_str(&c);
            }
            _ => self.out.push_str(&c),
        }
    }

    /// Writes a tag's start; returns what its end writes.
    fn start(&mut self, tag: &Tag) -> String {
        match tag {
            Tag::Table(_) | Tag::TableHead | Tag::TableRow | Tag::TableCell => self.start_table(tag),
            Tag::Link { dest, title } | Tag::Image { dest, title } => {
                self.start_link(matches!(tag, Tag::Image { .. }), dest, title)
            }
            _ => self.start_other(tag),
        }
    }

    fn start_other(&mut self, tag: &Tag) -> String {
        let (open, close): (String, &str) = match tag {
            Tag::Paragraph => ("<p>".into(), "</p>\n"),
            Tag::Heading(l) => return self.open(&format!("<h{l}>"), &format!("</h{l}>\n")),
            Tag::BlockQuote => ("<blockquote>\n".into(), "</blockquote>\n"),
            Tag::CodeBlock { info } => {
                let lang = info.split_whitespace().next().unwrap_or("");
                let mut open = String::from("<pre><code");
                if !lang.is_empty() {
                    open.push_str(" class=\"language-");
                    esc(&mut open, lang);
                    open.push('"');
                }
                open.push('>');
                (open, "</code></pre>\n")
            }
            Tag::HtmlBlock => (String::new(), "RAWBLOCK"),
            Tag::List { start: None, .. } => ("<ul>\n".into(), "</ul>\n"),
            Tag::List { start: Some(1), .. } => ("<ol>\n".into(), "</ol>\n"),
            Tag::List { start: Some(n), .. } => (format!("<ol start=\"{n}\">\n"), "</ol>\n"),
            Tag::Item => ("<li>".into(), "</li>\n"),
            Tag::Emphasis => ("<em>".into(), "</em>"),
            Tag::Strong => ("<strong>".into(), "</strong>"),
            Tag::Strikethrough => ("<del>".into(), "</del>"),
            // Handled by `start`.
            _ => (String::new(), ""),
        };
        self.open(&open, close)
    }

    fn open(&mut self, open: &str, close: &str) -> String {
        self.out.push_str(open);
        close.to_string()
    }

    fn start_table(&mut self, tag: &Tag) -> String {
        match tag {
            Tag::Table(a) => {
                self.aligns = a.clone();
                self.tbody.push(false);
                self.open("<table>\n", "TABLE")
            }
            Tag::TableHead => {
                self.head = true;
                self.cell = 0;
                self.open("<thead>\n<tr>\n", "</tr>\n</thead>\n")
            }
            Tag::TableRow => {
                if let Some(t @ false) = self.tbody.last_mut() {
                    *t = true;
                    self.out.push_str("<tbody>\n");
                }
                self.cell = 0;
                self.open("<tr>\n", "</tr>\n")
            }
            _ => {
                let t = if self.head { "th" } else { "td" };
                let a = match self.aligns.get(self.cell) {
                    Some(Align::Left) => " align=\"left\"",
                    Some(Align::Center) => " align=\"center\"",
                    Some(Align::Right) => " align=\"right\"",
                    _ => "",
                };
                self.cell += 1;
                self.open(&format!("<{t}{a}>"), &format!("</{t}>\n"))
            }
        }
    }

    fn start_link(&mut self, image: bool, dest: &str, title: &str) -> String {
        let out = &mut self.out;
        out.push_str(if image { "<img src=\"" } else { "<a href=\"" });
        esc_href(out, dest);
        out.push('"');
        if !title.is_empty() {
            out.push_str(" title=\"");
            esc(out, title);
            out.push('"');
        }
        if image {
            out.push_str(" alt=\"");
            self.alt = 1;
            "IMG".into()
        } else {
            out.push('>');
            "</a>".into()
        }
    }
}
