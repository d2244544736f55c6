//! What goes into the connection machine ([`Event`], [`Outgoing`], [`Env`])
//! and what comes out of it ([`Effect`], [`Status`]). Plain data: the adapters
//! translate between these and the browser's objects.

/// Which transport carries the chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    WebSocket,
    Sse,
    Poll,
}

impl Mode {
    /// The contract's word for it (§6, `data-transport`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::WebSocket => "websocket",
            Mode::Sse => "sse",
            Mode::Poll => "poll",
        }
    }
}

/// Whether the chat is connected (contract §6, `data-connection`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnState {
    Connecting,
    Connected,
    Reconnecting,
    Offline,
}

impl ConnState {
    /// The contract's word for it (§6, `data-connection`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::Connecting => "connecting",
            ConnState::Connected => "connected",
            ConnState::Reconnecting => "reconnecting",
            ConnState::Offline => "offline",
        }
    }
}

/// What the owner shows: state, transport, and when the next retry happens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Status {
    pub state: ConnState,
    pub mode: Mode,
    /// `Date.now()` (ms since the epoch) of the next reconnect attempt, while reconnecting.
    pub retry_at: Option<f64>,
}

/// The outside world's readings when an event happens: time is an input, and
/// so is chance (jitter), so the machine is deterministic under test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Env {
    /// `Date.now()`: milliseconds since the epoch.
    pub now_ms: f64,
    /// A uniform random number in `[0, 1)` (`Math.random()`).
    pub random: f64,
}

/// A WebSocket (the main one or a background probe), numbered by the machine.
pub type SocketId = u32;

/// One long-poll request, numbered by the machine; a late answer to an
/// abandoned request is recognised by its number and ignored.
pub type RequestId = u32;

/// The machine's timers. At most one of each kind runs: setting one again
/// replaces it, and a cancelled timer never fires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimerKind {
    /// The next WebSocket attempt (a quick retry or a backoff).
    Reconnect,
    /// On a fallback: the next background try of the WebSocket.
    Upgrade,
    /// In poll mode: the owner's periodic refresh (`poll_tick`).
    PollRefresh,
    /// A reply streamed over SSE: has it shown progress lately?
    SseStall(String),
    /// A reply's long poll failed to reach the server: poll again.
    PollRetry(String),
}

/// The type of a frame on a WebSocket, as far as the machine cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    AuthSuccess,
    AuthError,
    Other,
}

/// What a reply frame (SSE reply stream or long poll) means for following it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyFrameKind {
    Token { seq: u64 },
    Complete,
    Other,
}

/// A frame of a followed reply, as JSON text in the WebSocket's shape.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplyFrame {
    pub kind: ReplyFrameKind,
    pub text: String,
}

/// The answer to one long poll.
#[derive(Clone, Debug, PartialEq)]
pub enum PollAnswer {
    /// No usable answer (network failure or a body that is not JSON): try again.
    Unreachable,
    /// The server refused (not 2xx): `frame` is the `error` frame for the owner.
    Refused { frame: String },
    /// New tokens, then `complete` if the reply finished, in order.
    Frames(Vec<ReplyFrame>),
}

/// A `message` or `regenerate` sent over HTTP was accepted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Accepted {
    pub session_id: Option<String>,
    pub reply_id: Option<String>,
}

/// Something that happened, reported by an adapter (or the owner).
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The client was created.
    Start,
    /// A text frame on a WebSocket.
    SocketFrame {
        socket: SocketId,
        kind: FrameKind,
        text: String,
    },
    /// A WebSocket closed, or could not be opened at all.
    SocketClosed { socket: SocketId },
    /// The answer of `GET /health`: `ok` when 200.
    HealthChecked { ok: bool },
    /// An event of the identity's live SSE stream, in the WebSocket's shape;
    /// `stream_start` names the reply it announces.
    LiveFrame { text: String, stream_start: Option<String> },
    /// A frame of a reply's SSE stream.
    ReplyFrame { reply_id: String, frame: ReplyFrame },
    /// A reply's SSE stream lost its connection (an `error` event without data).
    ReplyStreamError { reply_id: String },
    /// A reply's SSE stream could not be opened at all.
    ReplyStreamUnavailable { reply_id: String },
    /// A long poll answered.
    PollAnswered {
        reply_id: String,
        request: RequestId,
        answer: PollAnswer,
    },
    /// A `message`/`regenerate` sent over HTTP answered: `frame` is the `ack`,
    /// `error` or `send_failed` frame for the owner; `accepted` when 2xx.
    HttpAnswered { frame: String, accepted: Option<Accepted> },
    /// A timer set by [`Effect::SetTimer`] fired.
    Timer(TimerKind),
    /// The owner's "Retry now".
    RetryNow,
    /// The browser's `offline` event.
    Offline,
    /// The browser's `online` event.
    Online,
    /// The owner closes everything (the page is going away).
    Stop,
}

/// Which HTTP endpoint carries a client frame on a fallback (contract §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpRoute {
    /// `POST /api/v1/chat/messages`.
    Messages,
    /// `POST /api/v1/chat/regenerate`.
    Regenerate,
}

/// What a client frame asks for, as far as the machine cares.
#[derive(Clone, Debug, PartialEq)]
pub enum OutKind {
    Message {
        client_id: Option<String>,
    },
    Regenerate {
        client_id: Option<String>,
    },
    Stop {
        reply_id: String,
    },
    Resume {
        reply_id: String,
        after_seq: u64,
    },
    Join {
        session_id: String,
    },
    Leave,
    /// Any other frame (`typing`, `read`, `ping` …), or one of the above
    /// without the field it needs.
    Other,
    /// Not a JSON object at all.
    Unparsable,
}

/// A client frame the owner sends: its JSON `text` and what it asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub text: String,
    pub kind: OutKind,
}

/// The owner must keep the frame and send it again after `on_ready`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotConnected;

/// What the adapters must do. Carried out in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Tell the owner the status changed.
    Status(Status),
    /// Hand the owner a frame (JSON text in the WebSocket's shape).
    Deliver(String),
    /// Tell the owner the chat is (re)connected: re-join, resume, flush the outbox.
    Ready,
    /// Open a WebSocket to the chat endpoint; report its frames and its close.
    OpenSocket { socket: SocketId },
    /// Close a WebSocket; it reports nothing more.
    CloseSocket { socket: SocketId },
    /// Send a text frame on an authenticated WebSocket.
    SocketSend { socket: SocketId, text: String },
    /// `GET /health` and report [`Event::HealthChecked`].
    CheckHealth,
    /// Open (or reopen) the identity's live SSE stream, with the joined conversation.
    OpenLive { session_id: Option<String> },
    /// Close the live SSE stream.
    CloseLive,
    /// Open (or reopen) a reply's SSE stream after `after_seq`.
    OpenReplyStream { reply_id: String, after_seq: u64 },
    /// Close a reply's SSE stream.
    CloseReplyStream { reply_id: String },
    /// One long poll of a reply after `after_seq`; report [`Event::PollAnswered`].
    Poll {
        reply_id: String,
        after_seq: u64,
        request: RequestId,
    },
    /// POST a `message`/`regenerate` frame; report [`Event::HttpAnswered`].
    HttpSend {
        route: HttpRoute,
        body: String,
        client_id: Option<String>,
    },
    /// `POST …/replies/{reply_id}/stop`, answer ignored.
    HttpStop { reply_id: String },
    /// Start a timer of `ms` milliseconds (replacing one of the same kind).
    SetTimer { kind: TimerKind, ms: u32 },
    /// Cancel a timer; it does not fire.
    CancelTimer { kind: TimerKind },
}
