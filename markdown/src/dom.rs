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
    let mut top = Vec::new();
    let mut stack: Vec<Slot<S::Node>> = Vec::new();
    let mut aligns: Vec<Align> = Vec::new();
    let mut cell = 0usize;
    let mut head = false;
    let mut alt = 0usize;
    let mut links = 0usize;
    let mut tbody: Option<S::Node> = None;
    // The innermost element children go into.
    fn current<'a, N>(stack: &'a [Slot<N>], parent: &'a N) -> &'a N {
        for s in stack.iter().rev() {
            match s {
                Slot::El(n) | Slot::A(n) | Slot::Image(Some(n)) => return n,
                _ => {}
            }
        }
        parent
    }
    for e in events {
        let at = current(&stack, parent).clone();
        let add = |sink: &mut S, top: &mut Vec<S::Node>, stack: &[Slot<S::Node>], tag: &'static str| {
            let n = sink.element(tag);
            sink.append(&at, &n);
            if stack.is_empty() {
                top.push(n.clone());
            }
            n
        };
        match e {
            Event::Start(_) if alt > 0 => stack.push(Slot::Pass),
            Event::Start(tag) => {
                let slot = match tag {
                    Tag::Paragraph => Slot::El(add(sink, &mut top, &stack, "p")),
                    Tag::Heading(_) => {
                        let p = add(sink, &mut top, &stack, "p");
                        let b = sink.element("strong");
                        sink.append(&p, &b);
                        Slot::El(b)
                    }
                    Tag::BlockQuote => Slot::El(add(sink, &mut top, &stack, "blockquote")),
                    Tag::CodeBlock { .. } | Tag::HtmlBlock => {
                        let pre = add(sink, &mut top, &stack, "pre");
                        sink.set_attribute(&pre, "tabindex", "0");
                        let code = sink.element("code");
                        sink.append(&pre, &code);
                        Slot::El(code)
                    }
                    Tag::List { start: None, .. } => Slot::El(add(sink, &mut top, &stack, "ul")),
                    Tag::List { start: Some(n), .. } => {
                        let ol = add(sink, &mut top, &stack, "ol");
                        if *n != 1 {
                            sink.set_attribute(&ol, "start", &n.to_string());
                        }
                        Slot::El(ol)
                    }
                    Tag::Item => Slot::El(add(sink, &mut top, &stack, "li")),
                    Tag::Table(a) => {
                        aligns.clone_from(a);
                        tbody = None;
                        Slot::El(add(sink, &mut top, &stack, "table"))
                    }
                    Tag::TableHead => {
                        head = true;
                        cell = 0;
                        let thead = add(sink, &mut top, &stack, "thead");
                        let tr = sink.element("tr");
                        sink.append(&thead, &tr);
                        Slot::El(tr)
                    }
                    Tag::TableRow => {
                        head = false;
                        cell = 0;
                        let body = match &tbody {
                            Some(b) => b.clone(),
                            None => {
                                let b = add(sink, &mut top, &stack, "tbody");
                                tbody = Some(b.clone());
                                b
                            }
                        };
                        let tr = sink.element("tr");
                        sink.append(&body, &tr);
                        Slot::El(tr)
                    }
                    Tag::TableCell => {
                        let c = add(sink, &mut top, &stack, if head { "th" } else { "td" });
                        match aligns.get(cell) {
                            Some(Align::Left) => sink.set_attribute(&c, "align", "left"),
                            Some(Align::Center) => sink.set_attribute(&c, "align", "center"),
                            Some(Align::Right) => sink.set_attribute(&c, "align", "right"),
                            _ => {}
                        }
                        cell += 1;
                        Slot::El(c)
                    }
                    Tag::Emphasis => Slot::El(add(sink, &mut top, &stack, "em")),
                    Tag::Strong => Slot::El(add(sink, &mut top, &stack, "strong")),
                    Tag::Strikethrough => Slot::El(add(sink, &mut top, &stack, "del")),
                    Tag::Link { dest, title } if links == 0 && safe_url(dest) => {
                        links += 1;
                        let a = add(sink, &mut top, &stack, "a");
                        Slot::A(link(sink, a, dest, title))
                    }
                    Tag::Link { .. } => Slot::Pass,
                    Tag::Image { dest, title } => {
                        alt += 1;
                        if links == 0 && safe_url(dest) {
                            let a = add(sink, &mut top, &stack, "a");
                            Slot::Image(Some(link(sink, a, dest, title)))
                        } else {
                            Slot::Image(None)
                        }
                    }
                };
                stack.push(slot);
            }
            Event::End => match stack.pop() {
                Some(Slot::A(_)) => links = links.saturating_sub(1),
                Some(Slot::Image(_)) => alt = alt.saturating_sub(1),
                _ => {}
            },
            Event::Text(t) | Event::Code(t) | Event::Html(t) if alt > 0 => sink.append_text(&at, t),
            Event::Text(t) | Event::Html(t) => sink.append_text(&at, t),
            Event::Code(c) => {
                let n = add(sink, &mut top, &stack, "code");
                sink.append_text(&n, c);
            }
            Event::SoftBreak => sink.append_text(&at, if alt > 0 { " " } else { "\n" }),
            Event::HardBreak if alt > 0 => sink.append_text(&at, " "),
            Event::HardBreak => {
                add(sink, &mut top, &stack, "br");
            }
            Event::Rule => {
                add(sink, &mut top, &stack, "hr");
            }
        }
    }
    top
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
    fn the_widget_flavour() {
        assert_eq!(
            widget_html("# T\n\n*a* **b** `c` [l](https://x.y) [u](javascript:x) <b>"),
            "<div><p><strong>T</strong></p><p><em>a</em> <strong>b</strong> <code>c</code> \
             <a href=\"https://x.y\" target=\"_blank\" rel=\"noopener noreferrer nofollow\">l</a> u &lt;b></p></div>"
        );
        assert_eq!(
            widget_html("```js\nx < 1\n```"),
            "<div><pre tabindex=\"0\"><code>x &lt; 1\n</code></pre></div>"
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
