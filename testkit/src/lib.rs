//! Everything Brook's tests and benchmarks share: the real server started on
//! port 0 against a fresh database ([`spawn_app`]), a fake OpenAI-compatible
//! upstream that streams real SSE ([`upstream`]), and small protocol clients.

pub mod app;
pub mod db;
pub mod proxy;
pub mod upstream;
pub mod ws;

pub use app::{spawn_app, AppOptions, Backend, TestApp};
pub use upstream::{Behaviour, FakeUpstream};
