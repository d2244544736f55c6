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
//!
//! Layout: [`machine`] decides (pure, tested on the host); `adapter` does the
//! I/O and reports events; [`Client`] wires them together for the owner.
//! [`assembler`] decides which tokens of a reply are shown.

mod adapter;
pub mod assembler;
mod client;
mod config;
pub mod js;
pub mod machine;
mod map;

pub use assembler::{Assembler, Verdict};
pub use client::Client;
pub use config::Config;
pub use machine::{ConnState, Mode, Status};
pub use map::SmallMap;
