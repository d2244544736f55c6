//! The client: one [`Machine`] and the adapters that carry out its effects.
//!
//! Every event (a socket frame, a timer, the network going offline …) is
//! handed to the machine at once; the effects it returns join one queue that
//! is carried out in order. An effect may call the owner (`on_frame`,
//! `on_ready`), which may send a frame: that frame's effects join the same
//! queue, so everything happens in the order the machine decided it.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use crate::adapter::endpoints::Endpoints;
use crate::adapter::network::NetworkWatch;
use crate::adapter::report::Report;
use crate::adapter::sse::Streams;
use crate::adapter::timers::Timers;
use crate::adapter::ws::Sockets;
use crate::adapter::{http_send, outgoing, poll};
use crate::config::Config;
use crate::js;
use crate::machine::{Effect, Env, Event, Machine, Status};

/// The owner's callbacks.
struct Owner {
    on_frame: Rc<dyn Fn(&str)>,
    on_status: Rc<dyn Fn(Status)>,
    on_ready: Rc<dyn Fn()>,
}

/// The adapters.
struct Io {
    endpoints: Endpoints,
    report: Report,
    sockets: Sockets,
    streams: Streams,
    timers: Timers,
    network: RefCell<Option<NetworkWatch>>,
}

struct Inner {
    machine: RefCell<Machine>,
    queue: RefCell<VecDeque<Effect>>,
    /// The queue is being carried out (further effects wait their turn).
    running: Cell<bool>,
    owner: Owner,
    io: Io,
}

/// A cloneable handle on the connection.
#[derive(Clone)]
pub struct Client(Rc<Inner>);

/// The readings of the moment: `Date.now()` and `Math.random()`.
fn env() -> Env {
    Env {
        now_ms: js::now_ms(),
        random: js_sys::Math::random(),
    }
}

impl Client {
    /// Creates the client and starts connecting. `on_frame` gets every frame as
    /// JSON text; `on_status` every change of [`Status`]; `on_ready` runs after
    /// each (re)connection or transport switch, which is when the owner
    /// re-joins its conversation, resumes replies and sends what it kept.
    pub fn start(
        cfg: Config,
        on_frame: Rc<dyn Fn(&str)>,
        on_status: Rc<dyn Fn(Status)>,
        on_ready: Rc<dyn Fn()>,
    ) -> Client {
        let inner = Rc::new_cyclic(|me: &Weak<Inner>| {
            let me = me.clone();
            let report = Report::new(move |e| {
                if let Some(i) = me.upgrade() {
                    Client(i).dispatch(e);
                }
            });
            Inner {
                machine: RefCell::new(Machine::new(cfg.upgrade_ms)),
                queue: RefCell::new(VecDeque::new()),
                running: Cell::new(false),
                owner: Owner {
                    on_frame,
                    on_status,
                    on_ready,
                },
                io: Io {
                    endpoints: Endpoints::new(&cfg),
                    report,
                    sockets: Sockets::default(),
                    streams: Streams::default(),
                    timers: Timers::default(),
                    network: RefCell::new(None),
                },
            }
        });
        let c = Client(inner);
        let watch = NetworkWatch::start(&c.0.io.report);
        *c.0.io.network.borrow_mut() = Some(watch);
        c.dispatch(Event::Start);
        c
    }

    pub fn status(&self) -> Status {
        self.0.machine.borrow().status()
    }

    /// Sends a client frame (JSON text). On the WebSocket it goes as is; on a
    /// fallback the same request is made over HTTP and the answer comes back
    /// as frames. `false`: not connected now (keep it for `on_ready`).
    pub fn send(&self, frame: &str) -> bool {
        let out = outgoing::read(frame);
        let sent = self.0.machine.borrow_mut().send(env(), out);
        match sent {
            Ok(effects) => {
                self.run(effects);
                true
            }
            Err(_) => false,
        }
    }

    /// "Retry now".
    pub fn retry_now(&self) {
        self.dispatch(Event::RetryNow);
    }

    /// Closes everything (the page is going away, or the owner starts anew).
    pub fn stop(&self) {
        let effects = self.0.machine.borrow_mut().handle(env(), Event::Stop);
        // Effects decided before (when the owner stops from inside a
        // callback) are void: nothing opens or is delivered after a stop.
        self.0.queue.borrow_mut().clear();
        self.run(effects);
        let io = &self.0.io;
        io.network.borrow_mut().take();
        io.sockets.close_all();
        io.streams.close_all();
        io.timers.cancel_all();
    }

    fn dispatch(&self, event: Event) {
        let effects = self.0.machine.borrow_mut().handle(env(), event);
        self.run(effects);
    }

    fn run(&self, effects: Vec<Effect>) {
        self.0.queue.borrow_mut().extend(effects);
        if self.0.running.replace(true) {
            return;
        }
        loop {
            let next = self.0.queue.borrow_mut().pop_front();
            match next {
                Some(e) => self.apply(e),
                None => break,
            }
        }
        self.0.running.set(false);
    }

    /// Carries out one effect.
    fn apply(&self, effect: Effect) {
        let (owner, io) = (&self.0.owner, &self.0.io);
        let (at, report) = (&io.endpoints, &io.report);
        match effect {
            Effect::Status(s) => (owner.on_status)(s),
            Effect::Deliver(text) => (owner.on_frame)(&text),
            Effect::Ready => (owner.on_ready)(),
            Effect::OpenSocket { socket } => io.sockets.open(socket, &at.websocket(), report),
            Effect::CloseSocket { socket } => io.sockets.close(socket),
            Effect::SocketSend { socket, text } => io.sockets.send(socket, &text),
            Effect::CheckHealth => http_send::health(at.health(), report.clone()),
            Effect::OpenLive { session_id } => io.streams.open_live(&at.live(session_id.as_deref()), report),
            Effect::CloseLive => io.streams.close_live(),
            Effect::OpenReplyStream { reply_id, after_seq } => {
                io.streams
                    .open_reply(&reply_id, &at.reply_events(&reply_id, after_seq), report)
            }
            Effect::CloseReplyStream { reply_id } => io.streams.close_reply(&reply_id),
            Effect::Poll {
                reply_id,
                after_seq,
                request,
            } => poll::poll(at.reply_poll(&reply_id, after_seq), reply_id, request, report.clone()),
            Effect::HttpSend { route, body, client_id } => {
                let token = at.token().map(str::to_string);
                http_send::send(at.send(route), body, client_id, token, report.clone())
            }
            Effect::HttpStop { reply_id } => http_send::stop(at.reply_stop(&reply_id), at.token().map(str::to_string)),
            Effect::SetTimer { kind, ms } => io.timers.set(kind, ms, report),
            Effect::CancelTimer { kind } => io.timers.cancel(&kind),
        }
    }
}
