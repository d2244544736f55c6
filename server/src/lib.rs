//! The `brook` binary's library half, so integration tests can start the real server.

pub mod cli;
pub mod commands;
pub mod error;
pub mod extract;
pub mod http;
pub mod router;
pub mod routes;
pub mod serve;
pub mod state;
pub mod telemetry;
pub mod ws;
