//! AST → HTML text. Every character of text is escaped, so nothing from the model
//! can become markup; the only tags are the ones written here.

use crate::highlight::highlight;
use crate::parse::{parse, Block, Inline};

fn escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

fn inlines(out: &mut String, nodes: &[Inline]) {
    for n in nodes {
        match n {
            Inline::Text(t) => escape(out, t),
            Inline::Strong(c) => {
                out.push_str("<strong>");
                inlines(out, c);
                out.push_str("</strong>");
            }
            Inline::Emphasis(c) => {
                out.push_str("<em>");
                inlines(out, c);
                out.push_str("</em>");
            }
            Inline::Strike(c) => {
                out.push_str("<del>");
                inlines(out, c);
                out.push_str("</del>");
            }
            Inline::Code(c) => {
                out.push_str("<code>");
                escape(out, c);
                out.push_str("</code>");
            }
            Inline::Link { href, children } => {
                out.push_str("<a href=\"");
                escape(out, href);
                out.push_str("\" target=\"_blank\" rel=\"noopener noreferrer nofollow\">");
                inlines(out, children);
                out.push_str("</a>");
            }
            Inline::LineBreak => out.push_str("<br>"),
        }
    }
}

fn blocks(out: &mut String, nodes: &[Block]) {
    for b in nodes {
        match b {
            Block::Paragraph(c) => {
                out.push_str("<p>");
                inlines(out, c);
                out.push_str("</p>");
            }
            Block::Heading(level, c) => {
                // Reply headings sit below the page's own: h1 becomes h3.
                let l = (level + 2).min(6);
                out.push_str(&format!("<h{l}>"));
                inlines(out, c);
                out.push_str(&format!("</h{l}>"));
            }
            Block::Code { lang, text, .. } => {
                out.push_str("<div class=\"code\"><div class=\"code-bar\"><span class=\"code-lang\">");
                escape(out, if lang.is_empty() { "text" } else { lang });
                out.push_str("</span><button type=\"button\" class=\"copy\" data-copy aria-label=\"Copy code\">Copy</button></div><pre><code>");
                for t in highlight(text, lang) {
                    match t.kind.class() {
                        Some(class) => {
                            out.push_str("<span class=\"");
                            out.push_str(class);
                            out.push_str("\">");
                            escape(out, &t.text);
                            out.push_str("</span>");
                        }
                        None => escape(out, &t.text),
                    }
                }
                out.push_str("</code></pre></div>");
            }
            Block::Quote(c) => {
                out.push_str("<blockquote>");
                blocks(out, c);
                out.push_str("</blockquote>");
            }
            Block::List { ordered, start, items } => {
                if *ordered {
                    if *start == 1 {
                        out.push_str("<ol>");
                    } else {
                        out.push_str(&format!("<ol start=\"{start}\">"));
                    }
                } else {
                    out.push_str("<ul>");
                }
                for item in items {
                    out.push_str("<li>");
                    // A single paragraph item renders without the <p> wrapper.
                    match item.as_slice() {
                        [Block::Paragraph(c)] => inlines(out, c),
                        other => blocks(out, other),
                    }
                    out.push_str("</li>");
                }
                out.push_str(if *ordered { "</ol>" } else { "</ul>" });
            }
            Block::Table { head, rows } => {
                out.push_str("<div class=\"table\"><table><thead><tr>");
                for h in head {
                    out.push_str("<th>");
                    inlines(out, h);
                    out.push_str("</th>");
                }
                out.push_str("</tr></thead><tbody>");
                for r in rows {
                    out.push_str("<tr>");
                    for cell in r {
                        out.push_str("<td>");
                        inlines(out, cell);
                        out.push_str("</td>");
                    }
                    out.push_str("</tr>");
                }
                out.push_str("</tbody></table></div>");
            }
            Block::Rule => out.push_str("<hr>"),
        }
    }
}

/// Markdown → safe HTML.
pub fn to_html(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 2);
    blocks(&mut out, &parse(markdown));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_html_is_text() {
        let h = to_html("<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))");
        assert!(!h.contains("<script"), "{h}");
        assert!(!h.contains("<img"), "{h}");
        assert!(!h.contains("href=\"javascript"), "{h}");
        assert!(h.contains("&lt;script&gt;"), "{h}");
    }

    #[test]
    fn attributes_cannot_be_broken_out_of() {
        let h = to_html("[a](https://x.y/\"onmouseover=alert(1))");
        assert!(!h.contains("\"onmouseover"), "{h}");
    }

    #[test]
    fn renders_the_usual() {
        let h = to_html("**b** *i* `c`\n\n```rust\nfn x() {}\n```\n\n- one\n- two");
        assert!(h.contains("<strong>b</strong>"));
        assert!(h.contains("<em>i</em>"));
        assert!(h.contains("<code>c</code>"));
        assert!(h.contains("<span class=\"tk-kw\">fn</span>"));
        assert!(h.contains("<ul><li>one</li><li>two</li></ul>"));
    }
}
