//! The `brook` binary's library half, so integration tests can start the real server.

// Leptos view types nest deeply; the compiler needs more room to lay them out.
#![recursion_limit = "512"]

pub mod alloc;
pub mod assets;
pub mod cli;
pub mod commands;
pub mod error;
pub mod extract;
pub mod http_chat;
pub mod net;
pub mod openai;
pub mod rest;
pub mod router;
pub mod security_headers;
pub mod serve;
pub mod state;
pub mod telemetry;
pub mod ws;
