//! Markdown in the widget's bubbles, through the renderer module that the
//! loader brings in when the visitor first opens the widget (`widget-md/`,
//! exposed as `Brook.__md`): the widget's first load stays within 60 KB gzipped
//! (contract §7). Until that module is there, bubbles show their text as plain
//! text and are rendered properly as soon as it arrives ([`md_ready`]).
//! Nothing here assigns HTML: text goes in with `textContent` and text nodes.
//!
//! Two ways to show a reply:
//! - [`render`]: replace a bubble's content with a whole text (history,
//!   greetings, the final `complete` text);
//! - [`Stream`]: a reply arriving token by token; final blocks are appended
//!   once and only the block being written is rebuilt, so the cost per token
//!   does not grow with the reply:
//!
//! ```ignore
//! let mut s = md::Stream::new(&bubble);
//! s.push("Hello, *wor");   // per token frame
//! s.push("ld*!\n\n");
//! s.finish();              // at `complete`: same DOM as `md::render(&bubble, text)`
//! ```

use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use web_sys::Element;

use crate::dom::text;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["Brook", "__md"], js_name = render, catch)]
    fn md_render(target: &Element, text: &str) -> Result<(), JsValue>;

    #[wasm_bindgen(js_namespace = ["Brook", "__md"], js_name = Stream)]
    type MdStream;

    #[wasm_bindgen(constructor, js_namespace = ["Brook", "__md"], js_class = "Stream", catch)]
    fn new(target: &Element) -> Result<MdStream, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn push(this: &MdStream, text: &str) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch)]
    fn finish(this: &MdStream) -> Result<(), JsValue>;
}

thread_local! {
    /// Bubbles shown as plain text while the renderer module loads.
    static PENDING: RefCell<Vec<(Element, String)>> = const { RefCell::new(Vec::new()) };
}

/// Replaces `target`'s children with `source` rendered (or, until the renderer
/// module is loaded, with `source` as plain text).
pub fn render(target: &Element, source: &str) {
    if md_render(target, source).is_ok() {
        PENDING.with(|p| p.borrow_mut().retain(|(e, _)| e != target));
        return;
    }
    target.set_text_content(Some(source));
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        match p.iter_mut().find(|(e, _)| e == target) {
            Some(slot) => slot.1 = source.to_string(),
            None => p.push((target.clone(), source.to_string())),
        }
    });
}

/// Called by the loader once `Brook.__md` is set: renders what waited.
#[wasm_bindgen]
pub fn md_ready() {
    let pending = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    for (el, source) in pending {
        render(&el, &source);
    }
}

/// A reply streaming into a bubble (see the module docs).
pub struct Stream {
    target: Element,
    text: String,
    inner: Option<MdStream>,
}

impl Stream {
    /// Takes over `target`'s content.
    pub fn new(target: &Element) -> Stream {
        let inner = MdStream::new(target).ok();
        if inner.is_none() {
            target.set_text_content(None);
        }
        Stream {
            target: target.clone(),
            text: String::new(),
            inner,
        }
    }

    /// Appends a token.
    pub fn push(&mut self, token: &str) {
        self.text.push_str(token);
        if self.inner.is_none() {
            // The module may have arrived since: switch to it with all the text so far.
            if let Ok(s) = MdStream::new(&self.target) {
                let _ = s.push(&self.text);
                self.inner = Some(s);
                return;
            }
        }
        match &self.inner {
            Some(s) => {
                let _ = s.push(token);
            }
            None => {
                let _ = self.target.append_child(&text(token));
            }
        }
    }

    /// Ends the reply.
    pub fn finish(&mut self) {
        match &self.inner {
            Some(s) => {
                let _ = s.finish();
            }
            None => render(&self.target, &self.text),
        }
    }

    /// All text pushed so far.
    pub fn text(&self) -> &str {
        &self.text
    }
}
