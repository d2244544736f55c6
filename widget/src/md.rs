//! Markdown in the widget's bubbles, through the renderer module that the
//! loader brings in when the visitor first opens the widget (`widget-md/`,
//! exposed as `Brook.__md`): the widget's first load stays within 60 KB gzipped
//! (contract §7). Until that module is there, bubbles show their text as plain
//! text and are rendered properly as soon as it arrives ([`md_ready`]).
//! Nothing here assigns HTML: text goes in with `textContent` and text nodes.
//!
//! Two ways to show a reply:
//! - [`render`]: show a text in a bubble. A bubble marked `data-streaming` (a
//!   reply being written) is streamed into: while each text is the last one
//!   with more at its end, only the new end is pushed to a [`Stream`] kept for
//!   that bubble (see [`markdown::mark`] for the constant-time check), so the
//!   cost per token does not grow with the reply (issue 12). Once the mark is
//!   gone, the next `render` (the `complete` text) finishes that stream, or
//!   renders the whole text when it is not an extension of the streamed one.
//!   Any other bubble (history, greetings) is rendered whole;
//! - [`Stream`]: a reply arriving token by token; final blocks are appended
//!   once and only the block being written is rebuilt:
//!
//! ```ignore
//! let mut s = md::Stream::new(&bubble);
//! s.push("Hello, *wor");   // per token frame
//! s.push("ld*!\n\n");
//! s.finish();              // at `complete`: same DOM as `md::render(&bubble, text)`
//! ```

use std::cell::RefCell;

use markdown::mark::TextMark;
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

/// The attribute that marks a bubble whose reply is being written.
const STREAMING: &str = "data-streaming";

thread_local! {
    /// Bubbles shown as plain text while the renderer module loads.
    static PENDING: RefCell<Vec<(Element, String)>> = const { RefCell::new(Vec::new()) };
    /// Bubbles being streamed into by [`render`], each with its stream.
    static STREAMS: RefCell<Vec<Stream>> = const { RefCell::new(Vec::new()) };
}

/// Shows `source` in `target`: streamed into while `target` is marked
/// `data-streaming`, else rendered whole (see the module docs). Until the
/// renderer module is loaded, the text shows as plain text.
pub fn render(target: &Element, source: &str) {
    if target.has_attribute(STREAMING) {
        stream_into(target, source);
        return;
    }
    if finish_stream(target, source) {
        return;
    }
    render_whole(target, source);
}

/// Pushes what `source` adds to the text streamed into `target`, or starts a
/// new stream there with all of it.
fn stream_into(target: &Element, source: &str) {
    PENDING.with(|p| p.borrow_mut().retain(|(e, _)| e != target));
    STREAMS.with(|streams| {
        let mut streams = streams.borrow_mut();
        let found = streams.iter().position(|s| &s.target == target);
        if let Some(s) = found.map(|i| &mut streams[i]) {
            if let Some(rest) = TextMark::of(s.text()).rest(source) {
                if !rest.is_empty() {
                    s.push(rest);
                }
                return;
            }
        }
        if let Some(i) = found {
            streams.swap_remove(i);
        }
        let mut s = Stream::new(target);
        s.push(source);
        streams.push(s);
    });
}

/// Ends the stream into `target`, if any, with `source` when that extends
/// it: whether it did (else the whole text is to be rendered).
fn finish_stream(target: &Element, source: &str) -> bool {
    let stream = STREAMS.with(|streams| {
        let mut streams = streams.borrow_mut();
        let i = streams.iter().position(|s| &s.target == target)?;
        Some(streams.swap_remove(i))
    });
    let Some(mut s) = stream else { return false };
    let Some(rest) = TextMark::of(s.text()).rest(source) else {
        return false;
    };
    if !rest.is_empty() {
        s.push(rest);
    }
    s.finish();
    true
}

/// Replaces `target`'s children with `source` rendered (or, until the renderer
/// module is loaded, with `source` as plain text).
fn render_whole(target: &Element, source: &str) {
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
            None => render_whole(&self.target, &self.text),
        }
    }

    /// All text pushed so far.
    pub fn text(&self) -> &str {
        &self.text
    }
}
