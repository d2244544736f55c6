//! The adapters: they do the I/O the connection machine asks for (open the
//! WebSocket, the EventSources, make fetches, set timeouts) and report what
//! happened as machine events. They translate between the browser's objects
//! and the machine's plain data, and decide nothing.
//!
//! Each reports through a [`report::Report`], so none of them knows the
//! client that owns it (no module here uses `crate::client`).

pub mod endpoints;
pub mod http_send;
pub mod network;
pub mod outgoing;
pub mod poll;
pub mod report;
pub mod sse;
pub mod timers;
pub mod ws;
