//! Brook's domain, below both the Axum server and the Leptos app's server side.
//!
//! `server` depends on `app`, so server functions in `app` could not reach code in
//! `server`; everything they share lives here: configuration, storage, identity,
//! limits, the reply hub and the model providers.

pub mod config;
pub mod engine;
pub mod origin;
pub mod redis_ping;
pub mod store;
pub mod time;

pub use config::Config;
pub use engine::Engine;
pub mod accounts;
pub mod admission;
pub mod api_keys;
pub mod auth;
pub mod bots;
pub mod chat;
pub mod cluster;
pub mod conversations;
pub mod error;
pub mod ids;
pub mod limits;
pub mod metrics;
pub mod people;

pub use error::Error;
pub mod hub;
pub mod provider;
pub mod tls;
