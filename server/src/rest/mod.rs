//! HTTP handlers, one module per area of the API.

pub mod auth;
pub mod bots;
pub mod conversations;
pub mod health;
pub mod keys;
pub mod people;
pub mod widget;
