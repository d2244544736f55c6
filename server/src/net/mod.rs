//! Brook's own HTTP server loop, in place of `axum::serve` (issue 11 §3), so
//! that no connection can hold the node hostage:
//!
//! - [`accept`]: the accept loop, admitting connections by the process's
//!   descriptor budget ([`table`]) and a per-IP cap ([`per_ip`],
//!   `BROOK_MAX_CONNECTIONS_PER_IP`), logging refusals once per interval
//!   ([`log_every`]);
//! - [`conn`]: one connection on hyper-util's HTTP/1 + HTTP/2 builder, with
//!   the header, idle and body time-outs (`BROOK_HEADER_TIMEOUT_SECS`,
//!   `BROOK_BODY_TIMEOUT_SECS`), `ConnectInfo` for the handlers, and WebSocket
//!   upgrades;
//! - [`body`]: response bodies that keep their request counted as in flight.

pub mod accept;
pub mod body;
pub mod conn;
pub mod log_every;
pub mod per_ip;
pub mod table;

/// The process's open-file limit: raises the soft limit to the hard one (a
/// server should use what it is allowed), and returns the soft limit in force.
pub fn descriptor_limit() -> u64 {
    #[cfg(unix)]
    {
        if let Ok((soft, hard)) = rlimit::getrlimit(rlimit::Resource::NOFILE) {
            if soft < hard && rlimit::setrlimit(rlimit::Resource::NOFILE, hard, hard).is_ok() {
                return hard;
            }
            return soft;
        }
    }
    1024
}
