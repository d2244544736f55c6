//! Brook's integration tests: the real server on port 0, real sockets, a fresh
//! database per test, on SQLite and (where marked) PostgreSQL too.

mod helpers;

mod api_keys;

mod auth;
mod authz;
mod bots;
mod cli;
mod client_ip;
mod cluster;
mod connections;
mod conversations;
mod durability;
mod edit;
mod exchange_burst;
mod faults;
mod fd_limit;
mod finish_rows;
mod head_start;
mod headers;
mod holes;
mod hostile_pages;
mod http_chat;
mod log_secrets;
mod login_flood;
mod migration_0002;
mod migration_0003;
mod observability;
mod openai_api;
mod openai_clients;
mod people;
mod quotas;
mod seed_clients;
mod session_end;
mod storage;
mod temperature;
mod upstream;
mod widget;
mod ws_frames;
mod ws_resume;
mod ws_streaming;
