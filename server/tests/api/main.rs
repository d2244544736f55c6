//! Brook's integration tests: the real server on port 0, real sockets, a fresh
//! database per test, on SQLite and (where marked) PostgreSQL too.

mod helpers;

mod auth;
mod authz;
mod bots;
mod cli;
mod conversations;
mod durability;
mod http_chat;
mod storage;
mod seed_clients;
mod ws_frames;
mod ws_streaming;
mod upstream;
mod widget;
