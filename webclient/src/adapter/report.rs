//! How an adapter reports an event to the machine.

use std::rc::Rc;

use crate::machine::Event;

/// A handle that hands events to the client's machine. Cheap to clone; it
/// holds the client weakly, so a callback kept by the browser does not keep
/// the client alive, and does nothing once the client is gone.
#[derive(Clone)]
pub struct Report(Rc<dyn Fn(Event)>);

impl Report {
    pub fn new(f: impl Fn(Event) + 'static) -> Report {
        Report(Rc::new(f))
    }

    pub fn event(&self, e: Event) {
        (self.0)(e)
    }
}
