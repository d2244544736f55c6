//! The browser side of Brook's transports, shared by the Leptos app and the
//! widget, so both reconnect and fall back the same way.
//!
//! Frames go in and out as JSON text; the client never needs serde (the widget's
//! size budget has no room for it) and reads only `type`, `reply_id`, `seq` with
//! `JSON.parse`. The WebSocket is preferred. If it cannot be opened or
//! authenticated after two quick tries, sends go over HTTP and replies stream
//! over SSE; if SSE makes no progress, over long polling. Every 30–60 s the
//! client tries the WebSocket again in the background and moves back to it. In
//! every mode it speaks to its owner in WebSocket frames (an HTTP answer becomes
//! a synthesized `ack` or `error`), so the app and widget code is the same.

pub mod assembler;
mod client;
pub mod js;
mod map;

pub use assembler::{Assembler, Verdict};
pub use client::{Client, Config, ConnState, Mode, Status};
pub use map::SmallMap;
