//! A reply's `.md` element, kept up to date as its text changes, at a cost per
//! token that does not grow with the reply (issue 12).
//!
//! While the reply streams, the element holds the final blocks (appended once,
//! in order) followed by the *tail*, the nodes of the block still being written,
//! which each push replaces. [`super::render_plan::plan`] decides between
//! appending, starting again and rendering the whole text. Only the markdown
//! renderer's output, which is sanitised (raw HTML escaped, unsafe links
//! dropped), is ever inserted as HTML.

use markdown::stream::StreamRenderer;
use web_sys::{Element, Node};

use super::render_plan::{plan, How, Plan, Rendered};

/// The `.md` element of one reply bubble and how its HTML was made.
pub struct ReplyHtml {
    el: Element,
    rendered: Rendered,
    stream: Option<StreamRenderer>,
    /// The last node of the final blocks; the tail's nodes follow it
    /// (`None`: the tail starts at the first child).
    boundary: Option<Node>,
}

impl ReplyHtml {
    /// Takes over `el`, which shows what `rendered` says (the view's first HTML).
    pub fn new(el: Element, rendered: Rendered) -> ReplyHtml {
        ReplyHtml {
            el,
            rendered,
            stream: None,
            boundary: None,
        }
    }

    /// Shows `text` from `source` (see [`Rendered::new`]); `live` while the
    /// reply streams.
    pub fn show(&mut self, source: Option<usize>, live: bool, text: &str) {
        let how = match plan(&self.rendered, source, live, text) {
            Plan::Keep => return,
            Plan::Append(rest) => {
                self.push(rest);
                How::Stream
            }
            Plan::Restart => {
                self.el.set_inner_html("");
                self.boundary = None;
                self.stream = Some(StreamRenderer::new());
                self.push(text);
                How::Stream
            }
            Plan::Whole => {
                self.stream = None;
                self.boundary = None;
                self.el.set_inner_html(&markdown::to_html(text));
                How::Whole
            }
        };
        self.rendered = Rendered::new(source, how, text);
    }

    /// Pushes `s` to the stream: appends the blocks it made final, replaces the tail.
    fn push(&mut self, s: &str) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        let update = stream.push(s);
        // `done` is empty when the tail was not re-parsed (`Update`'s docs).
        let Some(tail) = update.tail else {
            return;
        };
        loop {
            let next = match &self.boundary {
                Some(b) => b.next_sibling(),
                None => self.el.first_child(),
            };
            let Some(node) = next else { break };
            if self.el.remove_child(&node).is_err() {
                break;
            }
        }
        if !update.done.is_empty() {
            let _ = self.el.insert_adjacent_html("beforeend", update.done);
            self.boundary = self.el.last_child();
        }
        let _ = self.el.insert_adjacent_html("beforeend", tail);
    }
}
