//! Test support: a plain CommonMark HTML renderer over Brook's public events
//! (the spec's output shape: raw HTML passed through, `<img>`, every link kept),
//! used only to check the *parser* against the spec and against pulldown-cmark;
//! and the spec harness's HTML normaliser (`normalize.py` in cmark).
#![allow(dead_code)]

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
    let mut out = String::new();
    let mut stack: Vec<String> = Vec::new();
    let mut alt = 0usize;
    let mut aligns: Vec<Align> = Vec::new();
    let mut cell = 0;
    let mut head = false;
    let mut tbody: Vec<bool> = Vec::new();
    for e in events {
        if alt > 0 {
            match e {
                Event::Start(Tag::Image { .. }) => {
                    alt += 1;
                    stack.push("IMG".into());
                }
                Event::Start(_) => stack.push(String::new()),
                Event::End => {
                    let s = stack.pop().unwrap_or_default();
                    if s == "IMG" {
                        alt -= 1;
                        if alt == 0 {
                            out.push_str("\" />");
                        }
                    }
                }
                Event::Text(t) | Event::Code(t) | Event::Html(t) => esc(&mut out, t),
                Event::SoftBreak => out.push('\n'),
                Event::HardBreak => out.push('\n'),
                Event::Rule => {}
            }
            continue;
        }
        match e {
            Event::Start(tag) => {
                let close = match tag {
                    Tag::Paragraph => {
                        out.push_str("<p>");
                        "</p>\n".to_string()
                    }
                    Tag::Heading(l) => {
                        out.push_str(&format!("<h{l}>"));
                        format!("</h{l}>\n")
                    }
                    Tag::BlockQuote => {
                        out.push_str("<blockquote>\n");
                        "</blockquote>\n".into()
                    }
                    Tag::CodeBlock { info } => {
                        let lang = info.split_whitespace().next().unwrap_or("");
                        if lang.is_empty() {
                            out.push_str("<pre><code>");
                        } else {
                            out.push_str("<pre><code class=\"language-");
                            esc(&mut out, lang);
                            out.push_str("\">");
                        }
                        "</code></pre>\n".into()
                    }
                    Tag::HtmlBlock => "RAWBLOCK".into(),
                    Tag::List { start: None, .. } => {
                        out.push_str("<ul>\n");
                        "</ul>\n".into()
                    }
                    Tag::List { start: Some(n), .. } => {
                        if *n == 1 {
                            out.push_str("<ol>\n");
                        } else {
                            out.push_str(&format!("<ol start=\"{n}\">\n"));
                        }
                        "</ol>\n".into()
                    }
                    Tag::Item => {
                        out.push_str("<li>");
                        "</li>\n".into()
                    }
                    Tag::Table(a) => {
                        aligns = a.clone();
                        tbody.push(false);
                        out.push_str("<table>\n");
                        "TABLE".into()
                    }
                    Tag::TableHead => {
                        head = true;
                        cell = 0;
                        out.push_str("<thead>\n<tr>\n");
                        "</tr>\n</thead>\n".into()
                    }
                    Tag::TableRow => {
                        if let Some(t @ false) = tbody.last_mut() {
                            *t = true;
                            out.push_str("<tbody>\n");
                        }
                        cell = 0;
                        out.push_str("<tr>\n");
                        "</tr>\n".into()
                    }
                    Tag::TableCell => {
                        let t = if head { "th" } else { "td" };
                        let a = match aligns.get(cell) {
                            Some(Align::Left) => " align=\"left\"",
                            Some(Align::Center) => " align=\"center\"",
                            Some(Align::Right) => " align=\"right\"",
                            _ => "",
                        };
                        cell += 1;
                        out.push_str(&format!("<{t}{a}>"));
                        format!("</{t}>\n")
                    }
                    Tag::Emphasis => {
                        out.push_str("<em>");
                        "</em>".into()
                    }
                    Tag::Strong => {
                        out.push_str("<strong>");
                        "</strong>".into()
                    }
                    Tag::Strikethrough => {
                        out.push_str("<del>");
                        "</del>".into()
                    }
                    Tag::Link { dest, title } => {
                        out.push_str("<a href=\"");
                        esc_href(&mut out, dest);
                        out.push('"');
                        if !title.is_empty() {
                            out.push_str(" title=\"");
                            esc(&mut out, title);
                            out.push('"');
                        }
                        out.push('>');
                        "</a>".into()
                    }
                    Tag::Image { dest, title } => {
                        out.push_str("<img src=\"");
                        esc_href(&mut out, dest);
                        out.push('"');
                        if !title.is_empty() {
                            out.push_str(" title=\"");
                            esc(&mut out, title);
                            out.push('"');
                        }
                        out.push_str(" alt=\"");
                        alt = 1;
                        "IMG".into()
                    }
                };
                stack.push(close);
            }
            Event::End => {
                let c = stack.pop().unwrap_or_default();
                match c.as_str() {
                    "RAWBLOCK" => out.push('\n'),
                    "TABLE" => {
                        if tbody.pop() == Some(true) {
                            out.push_str("</tbody>\n");
                        }
                        out.push_str("</table>\n");
                    }
                    "</tr>\n</thead>\n" => {
                        head = false;
                        out.push_str(&c);
                    }
                    _ => out.push_str(&c),
                }
            }
            Event::Text(t) => esc(&mut out, t),
            Event::Code(c) => {
                out.push_str("<code>");
                esc(&mut out, c);
                out.push_str("</code>");
            }
            Event::Html(h) => out.push_str(h),
            Event::SoftBreak => out.push('\n'),
            Event::HardBreak => out.push_str("<br />\n"),
            Event::Rule => out.push_str("<hr />\n"),
        }
    }
    out
}

const BLOCK_TAGS: &[&str] = &[
    "article",
    "header",
    "aside",
    "hgroup",
    "blockquote",
    "hr",
    "iframe",
    "body",
    "li",
    "map",
    "button",
    "object",
    "canvas",
    "ol",
    "caption",
    "output",
    "col",
    "p",
    "colgroup",
    "pre",
    "dd",
    "progress",
    "dl",
    "section",
    "dt",
    "script",
    "div",
    "table",
    "tbody",
    "tfoot",
    "h1",
    "thead",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "video",
    "tr",
    "td",
    "th",
    "title",
    "html",
    "head",
    "form",
    "fieldset",
    "figure",
    "footer",
    "figcaption",
    "address",
    "embed",
];

fn decode_text(s: &str) -> String {
    // Character references as the harness resolves them (only those our renderers write).
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let (rep, n) = if rest.starts_with("&amp;") {
            ("&amp;", 5)
        } else if rest.starts_with("&lt;") {
            ("&lt;", 4)
        } else if rest.starts_with("&gt;") {
            ("&gt;", 4)
        } else if rest.starts_with("&quot;") {
            ("&quot;", 6)
        } else if rest.starts_with("&#39;") {
            ("'", 5)
        } else if rest.starts_with("&#x27;") {
            ("'", 6)
        } else {
            ("&", 1)
        };
        out.push_str(rep);
        rest = &rest[n..];
    }
    out.push_str(rest);
    out
}

/// The spec harness's normalisation: whitespace collapsed outside `<pre>`,
/// none around block tags, attributes sorted, self-closing tags opened.
pub fn normalize(html: &str) -> String {
    let mut out = String::new();
    let mut in_pre = false;
    let mut last_tag = String::new();
    let mut last_was_tag: Option<bool> = Some(true); // Some(true): start tag, Some(false): end tag, None: data
    let mut rest = html;
    while !rest.is_empty() {
        if rest.starts_with('<') {
            let end = rest.find('>').map_or(rest.len(), |e| e + 1);
            let raw = &rest[..end];
            rest = &rest[end..];
            let inner = raw.trim_start_matches('<').trim_end_matches('>');
            if inner.starts_with('!') || inner.starts_with('?') {
                out.push_str(raw);
                last_was_tag = None;
                continue;
            }
            let closing = inner.starts_with('/');
            let inner = inner.trim_start_matches('/');
            let self_closing = inner.ends_with('/');
            let inner = inner.trim_end_matches('/').trim();
            let name_end = inner.find(|c: char| c.is_whitespace()).unwrap_or(inner.len());
            let name = inner[..name_end].to_ascii_lowercase();
            let is_block = BLOCK_TAGS.contains(&name.as_str());
            if closing {
                if name == "pre" {
                    in_pre = false;
                } else if is_block {
                    out.truncate(out.trim_end().len());
                }
                out.push_str(&format!("</{name}>"));
                last_was_tag = Some(false);
            } else {
                if name == "pre" {
                    in_pre = true;
                }
                if is_block {
                    out.truncate(out.trim_end().len());
                }
                let mut attrs = parse_attrs(&inner[name_end..]);
                attrs.sort();
                out.push('<');
                out.push_str(&name);
                for (k, v) in attrs {
                    out.push(' ');
                    out.push_str(&k);
                    if let Some(v) = v {
                        out.push_str("=\"");
                        out.push_str(&decode_text(&v));
                        out.push('"');
                    }
                }
                out.push('>');
                last_was_tag = Some(!self_closing);
            }
            last_tag = name;
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            // `"` and `&quot;` are the same text (cmark writes one, pulldown-cmark the other).
            let mut data = decode_text(&rest[..end]).replace('"', "&quot;");
            rest = &rest[end..];
            let after_tag = last_was_tag.is_some();
            let after_block = after_tag && BLOCK_TAGS.contains(&last_tag.as_str());
            if after_tag && last_tag == "br" {
                data = data.trim_start_matches('\n').to_string();
            }
            if !in_pre {
                let mut collapsed = String::new();
                let mut ws = false;
                for c in data.chars() {
                    if c.is_whitespace() {
                        if !ws {
                            collapsed.push(' ');
                        }
                        ws = true;
                    } else {
                        collapsed.push(c);
                        ws = false;
                    }
                }
                data = collapsed;
            }
            if after_block && !in_pre {
                data = match last_was_tag {
                    Some(true) => data.trim_start().to_string(),
                    _ => data.trim().to_string(),
                };
            }
            out.push_str(&data);
            last_was_tag = None;
        }
    }
    out
}

fn parse_attrs(s: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let ks = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' {
            i += 1;
        }
        if ks == i {
            i += 1;
            continue;
        }
        let k = s[ks..i].to_ascii_lowercase();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            let (vs, ve, next) = if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let e = s[i + 1..].find(q as char).map_or(b.len(), |e| i + 1 + e);
                (i + 1, e, e + 1)
            } else {
                let e = s[i..].find(|c: char| c.is_whitespace()).map_or(b.len(), |e| i + e);
                (i, e, e)
            };
            out.push((k, Some(s[vs..ve.min(s.len())].to_string())));
            i = next;
        } else {
            out.push((k, None));
        }
    }
    out
}

/// One example of a spec file.
pub struct Example {
    pub markdown: String,
    pub html: String,
    pub number: u64,
    pub section: String,
}

pub fn load(path: &str) -> Vec<Example> {
    let p = format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
    let v: serde_json::Value = serde_json::from_str(&text).expect("spec JSON");
    v.as_array()
        .expect("an array")
        .iter()
        .map(|e| Example {
            markdown: e["markdown"].as_str().unwrap_or_default().to_string(),
            html: e["html"].as_str().unwrap_or_default().to_string(),
            number: e["example"].as_u64().unwrap_or_default(),
            section: e["section"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}
