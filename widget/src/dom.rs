//! Tiny DOM helpers.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Element, Event, EventTarget};

pub fn doc() -> web_sys::Document {
    web_sys::window().and_then(|w| w.document()).expect("a document")
}

pub fn el(tag: &str, class: &str) -> Element {
    let e = doc().create_element(tag).expect("create element");
    if !class.is_empty() {
        e.set_class_name(class);
    }
    e
}

/// Adds an event listener for the page's lifetime.
pub fn on(target: &EventTarget, name: &str, f: impl FnMut(Event) + 'static) {
    let cb = Closure::<dyn FnMut(Event)>::new(f);
    let _ = target.add_event_listener_with_callback(name, cb.as_ref().unchecked_ref());
    cb.forget();
}

pub fn text(s: &str) -> web_sys::Text {
    doc().create_text_node(s)
}
