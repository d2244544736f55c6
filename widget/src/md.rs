//! Markdown → DOM, node by node, with `textContent` only: the widget never
//! assigns HTML that came from a reply.

use markdown::{parse, safe_url, Block, Inline};
use web_sys::Element;

use crate::dom::{el, text};

fn inlines(parent: &Element, nodes: &[Inline]) {
    for n in nodes {
        match n {
            Inline::Text(t) => {
                let _ = parent.append_child(&text(t));
            }
            Inline::Strong(c) => wrap(parent, "strong", c),
            Inline::Emphasis(c) => wrap(parent, "em", c),
            Inline::Strike(c) => wrap(parent, "del", c),
            Inline::Code(c) => {
                let e = el("code", "");
                e.set_text_content(Some(c));
                let _ = parent.append_child(&e);
            }
            Inline::Link { href, children } if safe_url(href) => {
                let a = el("a", "");
                let _ = a.set_attribute("href", href);
                let _ = a.set_attribute("target", "_blank");
                let _ = a.set_attribute("rel", "noopener noreferrer nofollow");
                inlines(&a, children);
                let _ = parent.append_child(&a);
            }
            Inline::Link { children, .. } => inlines(parent, children),
            Inline::LineBreak => {
                let _ = parent.append_child(&el("br", ""));
            }
        }
    }
}

fn wrap(parent: &Element, tag: &str, children: &[Inline]) {
    let e = el(tag, "");
    inlines(&e, children);
    let _ = parent.append_child(&e);
}

fn blocks(parent: &Element, nodes: &[Block]) {
    for b in nodes {
        match b {
            Block::Paragraph(c) => wrap(parent, "p", c),
            Block::Heading(_, c) => {
                let p = el("p", "");
                wrap(&p, "strong", c);
                let _ = parent.append_child(&p);
            }
            // Code blocks stay plain here: the highlighter does not fit the budget.
            Block::Code { text: code, .. } => {
                let pre = el("pre", "");
                let c = el("code", "");
                c.set_text_content(Some(code));
                let _ = pre.append_child(&c);
                let _ = parent.append_child(&pre);
            }
            Block::Quote(c) => {
                let q = el("blockquote", "");
                blocks(&q, c);
                let _ = parent.append_child(&q);
            }
            Block::List { ordered, items, .. } => {
                let l = el(if *ordered { "ol" } else { "ul" }, "");
                for item in items {
                    let li = el("li", "");
                    match item.as_slice() {
                        [Block::Paragraph(c)] => inlines(&li, c),
                        other => blocks(&li, other),
                    }
                    let _ = l.append_child(&li);
                }
                let _ = parent.append_child(&l);
            }
            Block::Table { head, rows } => {
                let t = el("table", "");
                let tr = el("tr", "");
                for h in head {
                    wrap(&tr, "th", h);
                }
                let _ = t.append_child(&tr);
                for r in rows {
                    let tr = el("tr", "");
                    for c in r {
                        wrap(&tr, "td", c);
                    }
                    let _ = t.append_child(&tr);
                }
                let _ = parent.append_child(&t);
            }
            Block::Rule => {
                let _ = parent.append_child(&el("hr", ""));
            }
        }
    }
}

/// Replaces `target`'s children with `source` rendered.
pub fn render(target: &Element, source: &str) {
    target.set_text_content(None);
    blocks(target, &parse(source));
}
