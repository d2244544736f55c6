//! Every timeout and count of the connection machine, with where its rule
//! comes from, and the two delays that carry jitter.
//!
//! Sources: the contract (`/work/shared/spec/contract.md`: §3 heartbeat, §4
//! long poll and live events) and the client's behaviour as it shipped before
//! the machine was split out (issue 12), which the browser tests
//! (`end2end/tests/transports.spec.ts`) hold.

/// WebSocket attempts that may fail before the client asks `/health` whether
/// the server is up (then it falls back to SSE) or not (then it backs off).
/// Crate docs: "after two quick tries".
pub const QUICK_TRIES: u32 = 2;

/// Delay before the second quick try, in ms (shipped behaviour).
pub const QUICK_RETRY_MS: u32 = 400;

/// First backoff delay after a connection dropped or the server was down,
/// in ms; it doubles per attempt (1, 2, 4 … s). Shipped behaviour.
pub const BACKOFF_FIRST_MS: f64 = 1_000.0;

/// The longest backoff delay before jitter, in ms (shipped behaviour).
pub const BACKOFF_MAX_MS: f64 = 30_000.0;

/// Backoff steps counted at most (step 6 is 32 s, capped to
/// [`BACKOFF_MAX_MS`]). Shipped behaviour.
pub const BACKOFF_MAX_STEP: u32 = 6;

/// Jitter of a backoff delay, as a fraction of it: ± 30 %, so a restarted
/// server is not stampeded by every client at once (shipped behaviour).
pub const BACKOFF_JITTER: f64 = 0.3;

/// No backoff delay is shorter than this, in ms (shipped behaviour).
pub const BACKOFF_MIN_MS: f64 = 250.0;

/// How often a client on a fallback tries the WebSocket again, in ms: a
/// random point in `[upgrade_ms, 2 × upgrade_ms)`, so 30–60 s (crate docs).
pub const DEFAULT_UPGRADE_MS: u32 = 30_000;

/// After a reply's SSE stream opens, when to check that it shows progress, in ms.
/// Shipped behaviour.
pub const SSE_STALL_CHECK_MS: u32 = 20_000;

/// A reply's SSE stream with no event for this long, in ms, is blocked
/// (a buffering proxy): move to long polling (crate docs, "if SSE makes no
/// progress"). Shipped behaviour.
pub const SSE_STALL_MS: f64 = 19_000.0;

/// Connection errors of a reply's SSE stream (the browser reconnects it by
/// itself) before the client gives up on SSE, if it also showed nothing for
/// [`SSE_ERROR_QUIET_MS`]. Shipped behaviour.
pub const SSE_ERRORS_BEFORE_POLL: u32 = 2;

/// See [`SSE_ERRORS_BEFORE_POLL`]; in ms.
pub const SSE_ERROR_QUIET_MS: f64 = 3_000.0;

/// `wait_ms` of a long poll, in ms (contract §4: W ≤ 30000).
pub const POLL_WAIT_MS: u32 = 25_000;

/// Delay before polling again after a poll failed to reach the server, in ms.
/// Shipped behaviour.
pub const POLL_RETRY_MS: u32 = 2_000;

/// A client reduced to long polling refreshes from REST this often, in ms
/// (contract §4, `GET /api/v1/chat/events`: "every 10 s").
pub const POLL_REFRESH_MS: u32 = 10_000;

/// The frame the owner gets every [`POLL_REFRESH_MS`] in poll mode.
pub const POLL_TICK_FRAME: &str = "{\"type\":\"poll_tick\"}";

// Heartbeats: the client sends none. The server pings every 25 s (contract §3)
// and browsers answer WebSocket pings by themselves; a dead connection shows
// as a `close`. The SSE stall check above is the only liveness timer.

/// The delay before reconnect attempt `step` (1-based), in ms:
/// `min(1000 × 2^(step−1), 30000)` ± 30 % jitter, and at least 250.
/// `random` is uniform in `[0, 1)`: 0 gives −30 %, 0.5 none, → 1 gives +30 %.
pub fn backoff_ms(step: u32, random: f64) -> u32 {
    let step = step.clamp(1, BACKOFF_MAX_STEP);
    let base = (BACKOFF_FIRST_MS * 2f64.powi(step as i32 - 1)).min(BACKOFF_MAX_MS);
    let jitter = base * BACKOFF_JITTER * (random.clamp(0.0, 1.0) * 2.0 - 1.0);
    (base + jitter).max(BACKOFF_MIN_MS).round() as u32
}

/// The delay before the next background try of the WebSocket, in ms: a random
/// point in `[upgrade_ms, 2 × upgrade_ms)`.
pub fn upgrade_delay_ms(upgrade_ms: u32, random: f64) -> u32 {
    let ms = upgrade_ms as f64;
    (ms + random.clamp(0.0, 1.0) * ms).round() as u32
}
