//! The spec harness's HTML normalisation (`normalize.py` in cmark), so that
//! two renderers' HTML compare equal when they differ only in insignificant
//! whitespace, attribute order or character references.

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
    let mut n = Normalizer {
        out: String::new(),
        in_pre: false,
        last_tag: String::new(),
        last_was_tag: Some(true),
    };
    let mut rest = html;
    while !rest.is_empty() {
        let end = if rest.starts_with('<') {
            let end = rest.find('>').map_or(rest.len(), |e| e + 1);
            n.tag(&rest[..end]);
            end
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            n.data(&rest[..end]);
            end
        };
        rest = &rest[end..];
    }
    n.out
}

struct Normalizer {
    out: String,
    in_pre: bool,
    last_tag: String,
    /// Some(true): a start tag, Some(false): an end tag, None: data.
    last_was_tag: Option<bool>,
}

impl Normalizer {
    /// One tag, `<…>` as written.
    fn tag(&mut self, raw: &str) {
        let inner = raw.trim_start_matches('<').trim_end_matches('>');
        if inner.starts_with('!') || inner.starts_with('?') {
            self.out.push_str(raw);
            self.last_was_tag = None;
            return;
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
                self.in_pre = false;
            } else if is_block {
                self.out.truncate(self.out.trim_end().len());
            }
            self.out.push_str(&format!("</{name}>"));
            self.last_was_tag = Some(false);
        } else {
            if name == "pre" {
                self.in_pre = true;
            }
            if is_block {
                self.out.truncate(self.out.trim_end().len());
            }
            self.start_tag(&name, &inner[name_end..]);
            self.last_was_tag = Some(!self_closing);
        }
        self.last_tag = name;
    }

    /// `<name a="v" …>` with the attributes sorted and their values decoded.
    fn start_tag(&mut self, name: &str, attrs: &str) {
        let mut attrs = parse_attrs(attrs);
        attrs.sort();
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(&k);
            if let Some(v) = v {
                self.out.push_str("=\"");
                self.out.push_str(&decode_text(&v));
                self.out.push('"');
            }
        }
        self.out.push('>');
    }

    /// Text between tags.
    fn data(&mut self, raw: &str) {
        // `"` and `&quot;` are the same text (cmark writes one, pulldown-cmark the other).
        let mut data = decode_text(raw).replace('"', "&quot;");
        let after_tag = self.last_was_tag.is_some();
        let after_block = after_tag && BLOCK_TAGS.contains(&self.last_tag.as_str());
        if after_tag && self.last_tag == "br" {
            data = data.trim_start_matches('\n').to_string();
        }
        if !self.in_pre {
            data = collapse_whitespace(&data);
        }
        if after_block && !self.in_pre {
            data = match self.last_was_tag {
                Some(true) => data.trim_start().to_string(),
                _ => data.trim().to_string(),
            };
        }
        self.out.push_str(&data);
        self.last_was_tag = None;
    }
}

/// Every run of whitespace as one space.
fn collapse_whitespace(data: &str) -> String {
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
    collapsed
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
