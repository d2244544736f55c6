//! Events → a DOM-like tree, for the widget (contract §7: nodes are created
//! with `createElement` and text nodes, never from HTML strings, so host pages
//! with Trusted Types work). The tree is reached through [`TreeSink`], so the
//! same code runs on web-sys in the widget and on a plain string in host tests.
//!
//! The widget's flavour is smaller than the app's: headings are bold
//! paragraphs, code blocks are plain `pre > code` (no highlighter in the
//! budget), keyboard-focusable because they scroll sideways. Links follow
//! [`crate::safe_url`]; images are links to the image; raw HTML is text.

use crate::event::{Align, Event, Tag};
use crate::safe_url;
use crate::stream::{BlockStream, Finish};

/// Where nodes are created. `Node` is a cheap handle (a JS reference).
pub trait TreeSink {
    type Node: Clone;
    /// A new, detached element.
    fn element(&mut self, tag: &'static str) -> Self::Node;
    fn set_attribute(&mut self, node: &Self::Node, name: &'static str, value: &str);
    /// Appends a text node holding `text`.
    fn append_text(&mut self, parent: &Self::Node, text: &str);
    fn append(&mut self, parent: &Self::Node, child: &Self::Node);
    fn remove(&mut self, parent: &Self::Node, child: &Self::Node);
    /// Removes every child of `node`.
    fn clear(&mut self, node: &Self::Node);
}

enum Slot<N> {
    /// An element that children go into.
    El(N),
    /// A link.
    A(N),
    /// A container not shown (an unsafe link): children go to the parent.
    Pass,
    /// An image: its description goes into `N` (a link) or the parent, as text.
    Image(Option<N>),
}

/// Appends the events' nodes to `parent`; returns the top-level nodes created.
pub fn build<S: TreeSink>(sink: &mut S, parent: &S::Node, events: &[Event]) -> Vec<S::Node> {
    let mut b = Builder {
        sink,
        parent: parent.clone(),
        top: Vec::new(),
        stack: Vec::new(),
        aligns: Vec::new(),
        cell: 0,
        head: false,
        alt: 0,
        links: 0,
        tbody: None,
    };
    for e in events {
        b.event(e);
    }
    b.top
}

/// The walk's state: an explicit stack of open containers (no recursion).
struct Builder<'s, S: TreeSink> {
    sink: &'s mut S,
    parent: S::Node,
    top: Vec<S::Node>,
    stack: Vec<Slot<S::Node>>,
    aligns: Vec<Align>,
    cell: usize,
    head: bool,
    /// Inside an image: its description is text.
    alt: usize,
    /// Inside a link: no link in it.
    links: usize,
    tbody: Option<S::Node>,
}

impl<S: TreeSink> Builder<'_, S> {
    /// The innermost element children go into.
    fn at(&self) -> S::Node {
        for s in self.stack.iter().rev() {
            if let Slot::El(n) | Slot::A(n) | Slot::Image(Some(n)) = s {
                return n.clone();
            }
        }
        self.parent.clone()
    }

    /// A new element appended where children go now.
    fn add(&mut self, tag: &'static str) -> S::Node {
        let n = self.sink.element(tag);
        let at = self.at();
        self.sink.append(&at, &n);
        if self.stack.is_empty() {
            self.top.push(n.clone());
        }
        n
    }

    fn event(&mut self, e: &Event) {
        let at = self.at();
        match e {
            Event::Start(_) if self.alt > 0 => self.stack.push(Slot::Pass),
            Event::Start(tag) => {
                let slot = match self.block(tag) {
                    Some(slot) => slot,
                    None => self.inline(tag),
                };
                self.stack.push(slot);
            }
            Event::End => match self.stack.pop() {
                Some(Slot::A(_)) => self.links = self.links.saturating_sub(1),
                Some(Slot::Image(_)) => self.alt = self.alt.saturating_sub(1),
                _ => {}
            },
            Event::Text(t) | Event::Code(t) | Event::Html(t) if self.alt > 0 => self.sink.append_text(&at, t),
            Event::Text(t) | Event::Html(t) => self.sink.append_text(&at, t),
            Event::Code(c) => {
                let n = self.add("code");
                self.sink.append_text(&n, c);
            }
            Event::SoftBreak => self.sink.append_text(&at, if self.alt > 0 { " " } else { "\n" }),
            Event::HardBreak if self.alt > 0 => self.sink.append_text(&at, " "),
            Event::HardBreak => {
                self.add("br");
            }
            Event::Rule => {
                self.add("hr");
            }
        }
    }

    /// Block containers; `None` for inline ones.
    fn block(&mut self, tag: &Tag) -> Option<Slot<S::Node>> {
        let slot = match tag {
            Tag::Paragraph => Slot::El(self.add("p")),
            Tag::Heading(_) => {
                let p = self.add("p");
                let b = self.sink.element("strong");
                self.sink.append(&p, &b);
                Slot::El(b)
            }
            Tag::BlockQuote => Slot::El(self.add("blockquote")),
            Tag::CodeBlock { .. } | Tag::HtmlBlock => {
                let pre = self.add("pre");
                // A block that scrolls sideways is reachable by keyboard, and
                // says what it is when focused (WCAG 2.1.1; issue 17, axe's
                // `scrollable-region-focusable`).
                self.sink.set_attribute(&pre, "tabindex", "0");
                self.sink.set_attribute(&pre, "role", "group");
                self.sink.set_attribute(&pre, "aria-label", &code_label(tag));
                let code = self.sink.element("code");
                self.sink.append(&pre, &code);
                Slot::El(code)
            }
            Tag::List { start: None, .. } => Slot::El(self.add("ul")),
            Tag::List { start: Some(n), .. } => {
                let ol = self.add("ol");
                if *n != 1 {
                    self.sink.set_attribute(&ol, "start", &n.to_string());
                }
                Slot::El(ol)
            }
            Tag::Item => Slot::El(self.add("li")),
            Tag::Table(a) => {
                self.aligns.clone_from(a);
                self.tbody = None;
                Slot::El(self.add("table"))
            }
            Tag::TableHead => {
                self.head = true;
                self.cell = 0;
                let thead = self.add("thead");
                let tr = self.sink.element("tr");
                self.sink.append(&thead, &tr);
                Slot::El(tr)
            }
            Tag::TableRow => {
                self.head = false;
                self.cell = 0;
                let body = match self.tbody.clone() {
                    Some(b) => b,
                    None => {
                        let b = self.add("tbody");
                        self.tbody = Some(b.clone());
                        b
                    }
                };
                let tr = self.sink.element("tr");
                self.sink.append(&body, &tr);
                Slot::El(tr)
            }
            Tag::TableCell => {
                let c = self.add(if self.head { "th" } else { "td" });
                let align = match self.aligns.get(self.cell) {
                    Some(Align::Left) => "left",
                    Some(Align::Center) => "center",
                    Some(Align::Right) => "right",
                    _ => "",
                };
                if !align.is_empty() {
                    self.sink.set_attribute(&c, "align", align);
                }
                self.cell += 1;
                Slot::El(c)
            }
            _ => return None,
        };
        Some(slot)
    }

    fn inline(&mut self, tag: &Tag) -> Slot<S::Node> {
        match tag {
            Tag::Emphasis => Slot::El(self.add("em")),
            Tag::Strong => Slot::El(self.add("strong")),
            Tag::Strikethrough => Slot::El(self.add("del")),
            Tag::Link { dest, title } if self.links == 0 && safe_url(dest) => {
                self.links += 1;
                let a = self.add("a");
                Slot::A(link(self.sink, a, dest, title))
            }
            Tag::Image { dest, title } => {
                self.alt += 1;
                if self.links == 0 && safe_url(dest) {
                    let a = self.add("a");
                    Slot::Image(Some(link(self.sink, a, dest, title)))
                } else {
                    Slot::Image(None)
                }
            }
            _ => Slot::Pass,
        }
    }
}

fn link<S: TreeSink>(sink: &mut S, a: S::Node, dest: &str, title: &str) -> S::Node {
    sink.set_attribute(&a, "href", dest.trim());
    if !title.is_empty() {
        sink.set_attribute(&a, "title", title);
    }
    sink.set_attribute(&a, "target", "_blank");
    sink.set_attribute(&a, "rel", "noopener noreferrer nofollow");
    a
}

/// Replaces `target`'s children with `markdown` rendered.
pub fn render<S: TreeSink>(sink: &mut S, target: &S::Node, markdown: &str) {
    sink.clear(target);
    build(sink, target, &crate::parse(markdown));
}

/// A streaming reply in the DOM: final blocks are appended once, the open tail
/// is replaced on each push (see [`crate::stream`]).
pub struct DomStream<N> {
    blocks: BlockStream,
    target: N,
    tail: Vec<N>,
}

impl<N: Clone> DomStream<N> {
    /// Takes over `target` (its children are replaced).
    pub fn new<S: TreeSink<Node = N>>(sink: &mut S, target: N) -> Self {
        sink.clear(&target);
        DomStream {
            blocks: BlockStream::new(),
            target,
            tail: Vec::new(),
        }
    }

    /// All text pushed so far.
    pub fn text(&self) -> &str {
        self.blocks.text()
    }

    /// Appends a token.
    pub fn push<S: TreeSink<Node = N>>(&mut self, sink: &mut S, text: &str) {
        let step = self.blocks.push(text);
        let Some(tail) = step.tail else { return };
        for n in self.tail.drain(..) {
            sink.remove(&self.target, &n);
        }
        build(sink, &self.target, &step.done);
        self.tail = build(sink, &self.target, &tail);
    }

    /// The end of the reply: the DOM then equals [`render`] of the whole text.
    pub fn finish<S: TreeSink<Node = N>>(&mut self, sink: &mut S) {
        for n in self.tail.drain(..) {
            sink.remove(&self.target, &n);
        }
        match self.blocks.finish() {
            Finish::Tail(events) => {
                build(sink, &self.target, &events);
            }
            Finish::Whole(events) => {
                sink.clear(&self.target);
                build(sink, &self.target, &events);
            }
        }
    }
}

/// The accessible name of a code block: `Code` and the language of a fenced
/// block's info string when it is a plain word (`Code: rust`), else `Code`.
/// A raw HTML block reads as `Code: html`.
fn code_label(tag: &Tag) -> String {
    let lang = match tag {
        Tag::CodeBlock { info } => info.split_whitespace().next().unwrap_or_default(),
        Tag::HtmlBlock => "html",
        _ => "",
    };
    let plain = !lang.is_empty()
        && lang.len() <= 20
        && lang
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '#' | '-' | '_' | '.'));
    if plain {
        format!("Code: {lang}")
    } else {
        "Code".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (tag or text, attributes, children, is text)
    type FakeNode = (String, Vec<(String, String)>, Vec<usize>, bool);

    /// A tree of strings standing in for the DOM.
    #[derive(Default)]
    struct Fake {
        nodes: Vec<FakeNode>,
    }

    impl TreeSink for Fake {
        type Node = usize;
        fn element(&mut self, tag: &'static str) -> usize {
            self.nodes.push((tag.to_string(), Vec::new(), Vec::new(), false));
            self.nodes.len() - 1
        }
        fn set_attribute(&mut self, node: &usize, name: &'static str, value: &str) {
            self.nodes[*node].1.push((name.to_string(), value.to_string()));
        }
        fn append_text(&mut self, parent: &usize, text: &str) {
            self.nodes.push((text.to_string(), Vec::new(), Vec::new(), true));
            let n = self.nodes.len() - 1;
            self.nodes[*parent].2.push(n);
        }
        fn append(&mut self, parent: &usize, child: &usize) {
            self.nodes[*parent].2.push(*child);
        }
        fn remove(&mut self, parent: &usize, child: &usize) {
            self.nodes[*parent].2.retain(|c| c != child);
        }
        fn clear(&mut self, node: &usize) {
            self.nodes[*node].2.clear();
        }
    }

    impl Fake {
        fn html(&self, n: usize) -> String {
            // Iterative, like everything else here.
            let mut out = String::new();
            let mut stack = vec![(n, false)];
            while let Some((i, closing)) = stack.pop() {
                let (tag, attrs, kids, is_text) = &self.nodes[i];
                if *is_text {
                    out.push_str(&tag.replace('<', "&lt;"));
                } else if closing {
                    out.push_str(&format!("</{tag}>"));
                } else {
                    out.push('<');
                    out.push_str(tag);
                    for (k, v) in attrs {
                        out.push_str(&format!(" {k}=\"{v}\""));
                    }
                    out.push('>');
                    stack.push((i, true));
                    for k in kids.iter().rev() {
                        stack.push((*k, false));
                    }
                }
            }
            out
        }
    }

    fn widget_html(md: &str) -> String {
        let mut f = Fake::default();
        let root = f.element("div");
        render(&mut f, &root, md);
        f.html(root)
    }

    #[test]
    fn the_widget_keeps_underscores_inside_words() {
        // CommonMark §6.2: a `_` run inside a word neither opens nor closes emphasis.
        assert_eq!(widget_html("snake__case__name"), "<div><p>snake__case__name</p></div>");
        assert_eq!(
            widget_html("__bold__ a_b_c"),
            "<div><p><strong>bold</strong> a_b_c</p></div>"
        );
    }

    #[test]
    fn the_widget_flavour() {
        assert_eq!(
            widget_html("# T\n\n*a* **b** `c` [l](https://x.y) [u](javascript:x) <b>"),
            "<div><p><strong>T</strong></p><p><em>a</em> <strong>b</strong> <code>c</code> \
             <a href=\"https://x.y\" target=\"_blank\" rel=\"noopener noreferrer nofollow\">l</a> u &lt;b></p></div>"
        );
        assert_eq!(
            widget_html("```js\nx < 1\n```"),
            "<div><pre tabindex=\"0\" role=\"group\" aria-label=\"Code: js\"><code>x &lt; 1\n</code></pre></div>"
        );
        assert_eq!(
            widget_html("    indented\n\n```{x=1}\ny\n```"),
            "<div><pre tabindex=\"0\" role=\"group\" aria-label=\"Code\"><code>indented\n</code></pre>\
             <pre tabindex=\"0\" role=\"group\" aria-label=\"Code\"><code>y\n</code></pre></div>"
        );
        assert_eq!(
            widget_html("| a |\n|:-:|\n| 1 |"),
            "<div><table><thead><tr><th align=\"center\">a</th></tr></thead><tbody><tr><td align=\"center\">1</td></tr></tbody></table></div>"
        );
        assert_eq!(
            widget_html("![alt](https://i/x.png) ![x](/rel.png)"),
            "<div><p><a href=\"https://i/x.png\" target=\"_blank\" rel=\"noopener noreferrer nofollow\">alt</a> x</p></div>"
        );
        assert_eq!(
            widget_html("3. a\n4. b"),
            "<div><ol start=\"3\"><li>a</li><li>b</li></ol></div>"
        );
    }

    #[test]
    fn the_stream_ends_as_render_does() {
        let text = "# Title\n\nSome *text* and a [link](https://a.b).\n\n- one\n- two\n\n```py\nx = 1\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nEnd";
        for size in [1, 3, 4, 7, 50] {
            let mut f = Fake::default();
            let root = f.element("div");
            let mut s = DomStream::new(&mut f, root);
            let chars: Vec<char> = text.chars().collect();
            for c in chars.chunks(size) {
                s.push(&mut f, &c.iter().collect::<String>());
            }
            s.finish(&mut f);
            assert_eq!(f.html(root), widget_html(text), "chunks of {size}");
        }
    }
}
