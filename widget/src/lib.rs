//! Brook's embeddable widget (contract §7).
//!
//! The loader (`/widget.js`) makes a Shadow DOM host and calls [`start`]. The
//! widget asks for a visitor session (refused: one console warning, nothing
//! drawn), then draws a launcher and a panel, shows the visitor's history, and
//! goes live through `webclient` (the web app's own transport, so it reconnects
//! and falls back to SSE and long polling the same way). Markdown is turned into
//! DOM nodes with `textContent`; nothing from a reply is ever parsed as HTML.
//!
//! Size matters here (≤ 60 KB gzipped with the loader and CSS): no serde, no
//! Leptos, frames are read with `JSON.parse`.
//!
//! Modules: `session` (the visitor's token, conversation and history),
//! `view` (the DOM), `frames` (the live connection and its frames), `people`
//! (contract §9), `feedback` (thumbs and comments, §9.4), [`md`] (markdown).

mod dom;
mod feedback;
mod frames;
pub mod md;
mod people;
mod session;
mod view;

// A tiny allocator: the default one is several kilobytes of the budget, and the
// widget allocates little and lives on one thread.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use web_sys::{Element, HtmlElement, HtmlTextAreaElement, ShadowRoot};
use webclient::{Assembler, Client, SmallMap};

/// A reply's bubble; its text and `seq` are in [`State::assembler`].
struct Reply {
    body: Element,
}

struct State {
    token: String,
    visitor_id: String,
    session: String,
    exists: bool,
    open: bool,
    unread: u32,
    replies: SmallMap<Reply>,
    /// Which tokens are shown and which `resume` fills a gap (shared with the app).
    assembler: Assembler,
    /// Sent but not acknowledged: client id → (bubble, text).
    pending: Vec<(String, Element, String)>,
}

impl State {
    fn new() -> State {
        State {
            token: String::new(),
            visitor_id: String::new(),
            session: String::new(),
            exists: false,
            open: false,
            unread: 0,
            replies: SmallMap::new(),
            assembler: Assembler::new(),
            pending: Vec::new(),
        }
    }
}

struct Widget {
    host: String,
    bot_key: String,
    key: String,
    launcher: HtmlElement,
    badge: HtmlElement,
    panel: HtmlElement,
    log: Element,
    typing: HtmlElement,
    status: Element,
    status_text: Element,
    input: HtmlTextAreaElement,
    st: RefCell<State>,
    client: RefCell<Option<Client>>,
}

thread_local! {
    static W: RefCell<Option<Rc<Widget>>> = const { RefCell::new(None) };
}

fn widget() -> Option<Rc<Widget>> {
    W.with(|w| w.borrow().clone())
}

/// Starts the widget in `root`, a Shadow DOM created by the loader.
#[wasm_bindgen]
pub fn start(root: ShadowRoot, host: String, opts: JsValue) {
    wasm_bindgen_futures::spawn_local(async move {
        session::init(root, host, opts).await;
    });
}

#[wasm_bindgen]
pub fn open() {
    if let Some(w) = widget() {
        w.set_open(true);
    }
}

#[wasm_bindgen]
pub fn close() {
    if let Some(w) = widget() {
        w.set_open(false);
    }
}

#[wasm_bindgen]
pub fn toggle() {
    if let Some(w) = widget() {
        let o = w.st.borrow().open;
        w.set_open(!o);
    }
}
