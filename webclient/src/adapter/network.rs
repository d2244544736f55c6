//! The browser's `offline` and `online` events (`navigator.onLine` changing).

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::report::Report;
use crate::js;
use crate::machine::Event;

type Cb = Closure<dyn FnMut(JsValue)>;

/// Listens while it lives; dropping it removes the listeners.
pub struct NetworkWatch {
    cbs: Vec<(&'static str, Cb)>,
}

impl NetworkWatch {
    pub fn start(report: &Report) -> NetworkWatch {
        let mut cbs = Vec::new();
        let Some(w) = js::window() else {
            return NetworkWatch { cbs };
        };
        for (name, event) in [("offline", Event::Offline), ("online", Event::Online)] {
            let report = report.clone();
            let cb: Cb = Closure::new(move |_| report.event(event.clone()));
            let _ = w.add_event_listener_with_callback(name, cb.as_ref().unchecked_ref());
            cbs.push((name, cb));
        }
        NetworkWatch { cbs }
    }
}

impl Drop for NetworkWatch {
    fn drop(&mut self) {
        if let Some(w) = js::window() {
            for (name, cb) in &self.cbs {
                let _ = w.remove_event_listener_with_callback(name, cb.as_ref().unchecked_ref());
            }
        }
    }
}
