//! The widget's markdown → DOM renderer, as its own WASM module.
//!
//! The widget must load at most 60 KB gzipped before a visitor opens it
//! (contract §7); a CommonMark renderer with the HTML entity table does not fit
//! next to the chat client. So the loader (`widget/assets/widget.js`) imports
//! this module when the visitor first opens the widget and puts it at
//! `Brook.__md`; the widget (`widget/src/md.rs`) shows plain text until then.
//!
//! Nodes are built with `createElement` and text nodes only (never HTML
//! strings), through [`markdown::dom`].

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

use markdown::dom::{DomStream, TreeSink};
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, Node};

/// web-sys as a [`TreeSink`]. DOM errors (there are none for these calls on
/// live nodes) are ignored: a message renders partly rather than not at all.
struct Dom(Document);

impl Dom {
    fn get() -> Option<Dom> {
        web_sys::window().and_then(|w| w.document()).map(Dom)
    }
}

impl TreeSink for Dom {
    type Node = Node;
    fn element(&mut self, tag: &'static str) -> Node {
        match self.0.create_element(tag) {
            Ok(e) => e.into(),
            Err(_) => self.0.create_text_node("").into(),
        }
    }
    fn set_attribute(&mut self, node: &Node, name: &'static str, value: &str) {
        if let Some(e) = node.dyn_ref::<Element>() {
            let _ = e.set_attribute(name, value);
        }
    }
    fn append_text(&mut self, parent: &Node, text: &str) {
        let _ = parent.append_child(&self.0.create_text_node(text));
    }
    fn append(&mut self, parent: &Node, child: &Node) {
        let _ = parent.append_child(child);
    }
    fn remove(&mut self, parent: &Node, child: &Node) {
        let _ = parent.remove_child(child);
    }
    fn clear(&mut self, node: &Node) {
        node.set_text_content(None);
    }
}

/// Replaces `target`'s children with `text` rendered.
#[wasm_bindgen]
pub fn render(target: &Element, text: &str) {
    if let Some(mut dom) = Dom::get() {
        markdown::dom::render(&mut dom, target.as_ref(), text);
    }
}

/// A reply streaming into `target`: final blocks are appended once, the block
/// being written is replaced on each push.
#[wasm_bindgen]
pub struct Stream {
    inner: Option<DomStream<Node>>,
}

#[wasm_bindgen]
impl Stream {
    #[wasm_bindgen(constructor)]
    pub fn new(target: &Element) -> Stream {
        let inner = Dom::get().map(|mut dom| DomStream::new(&mut dom, target.clone().into()));
        Stream { inner }
    }

    /// Appends a token.
    pub fn push(&mut self, text: &str) {
        if let (Some(mut dom), Some(s)) = (Dom::get(), self.inner.as_mut()) {
            s.push(&mut dom, text);
        }
    }

    /// Ends the reply: the DOM is then what [`render`] of the whole text gives.
    pub fn finish(&mut self) {
        if let (Some(mut dom), Some(s)) = (Dom::get(), self.inner.as_mut()) {
            s.finish(&mut dom);
        }
    }
}
