//! Timers as the machine asks for them (`SetTimer` / `CancelTimer`): one per
//! kind, setting one again replaces it, and a cancelled timer never fires.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use super::report::Report;
use crate::js;
use crate::machine::{Event, TimerKind};

/// Runs `f` once after `ms` milliseconds; the browser's timeout handle.
pub fn after(ms: u32, f: impl FnOnce() + 'static) -> Option<i32> {
    let cb = Closure::once_into_js(f);
    js::window()?
        .set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), ms.min(i32::MAX as u32) as i32)
        .ok()
}

fn clear(handle: i32) {
    if let Some(w) = js::window() {
        w.clear_timeout_with_handle(handle);
    }
}

struct Slot {
    kind: TimerKind,
    /// Which setting of this kind the browser's timeout belongs to.
    serial: u32,
    handle: Option<i32>,
}

/// The running timers.
#[derive(Default)]
pub struct Timers {
    slots: Rc<RefCell<Vec<Slot>>>,
    serial: Cell<u32>,
}

impl Timers {
    /// Starts a timer of `kind` (replacing a running one); when it fires,
    /// [`Event::Timer`] is reported.
    pub fn set(&self, kind: TimerKind, ms: u32, report: &Report) {
        self.cancel(&kind);
        let serial = self.serial.get().wrapping_add(1);
        self.serial.set(serial);
        let slots: Weak<RefCell<Vec<Slot>>> = Rc::downgrade(&self.slots);
        let report = report.clone();
        let fired = kind.clone();
        let handle = after(ms, move || {
            let Some(slots) = slots.upgrade() else { return };
            let pos = slots
                .borrow()
                .iter()
                .position(|s| s.kind == fired && s.serial == serial);
            if let Some(i) = pos {
                slots.borrow_mut().remove(i);
                report.event(Event::Timer(fired));
            }
        });
        self.slots.borrow_mut().push(Slot { kind, serial, handle });
    }

    pub fn cancel(&self, kind: &TimerKind) {
        let mut slots = self.slots.borrow_mut();
        if let Some(i) = slots.iter().position(|s| s.kind == *kind) {
            if let Some(h) = slots.remove(i).handle {
                clear(h);
            }
        }
    }

    pub fn cancel_all(&self) {
        for s in self.slots.borrow_mut().drain(..) {
            if let Some(h) = s.handle {
                clear(h);
            }
        }
    }
}

impl Drop for Timers {
    fn drop(&mut self) {
        self.cancel_all();
    }
}
