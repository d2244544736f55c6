//! Brook's wire contract (`shared/spec/contract.md`) as Rust types.
//!
//! Every client-facing shape lives here so that the server, the Leptos app and the
//! widget cannot drift apart. The crate has no runtime beyond serde and compiles to
//! WASM; with default features off it is only the names (frame types and error
//! codes), which the size-budgeted widget uses.

pub mod codes;
pub mod feedback;
pub mod names;

#[cfg(feature = "serde")]
pub mod frames;
#[cfg(feature = "serde")]
pub mod keys;
#[cfg(feature = "serde")]
pub mod objects;
#[cfg(feature = "serde")]
pub mod people;
#[cfg(feature = "serde")]
pub mod rest;

pub use codes::ErrorCode;

/// The only WebSocket protocol version Brook speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// A WebSocket message above this size (after reassembly) is refused with close code 1009.
pub const MAX_FRAME_BYTES: usize = 256 * 1024;
/// Messages that may wait behind a conversation's generating reply.
pub const MAX_QUEUED_PER_CONVERSATION: usize = 4;
/// Replies one identity may have generating at once.
pub const MAX_ACTIVE_REPLIES_PER_IDENTITY: usize = 4;
/// Longest accepted `session_id`.
pub const MAX_SESSION_ID_CHARS: usize = 128;
/// WebSocket close code for a connection that fell too far behind.
pub const CLOSE_SLOW_CONSUMER: u16 = 1013;
/// WebSocket close code (policy violation) for a connection whose identity may
/// no longer use Brook: its token was revoked (logout), or it is a visitor of a
/// bot that was deleted or whose widget was disabled.
pub const CLOSE_SESSION_ENDED: u16 = 1008;
/// WebSocket close code for a text frame that is not valid UTF-8 (RFC 6455
/// §7.4.1: 1007, data inconsistent with the message type).
pub const CLOSE_INVALID_DATA: u16 = 1007;
/// WebSocket close code for an oversized message.
pub const CLOSE_TOO_BIG: u16 = 1009;

/// Whether `id` is a valid conversation id (contract §2): 1 to 128 characters of
/// `A–Z a–z 0–9 . _ : -`, and not `.` or `..`.
pub fn valid_session_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_SESSION_ID_CHARS
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids() {
        assert!(valid_session_id("python-session-1"));
        assert!(valid_session_id("a.b_c:d-E9"));
        assert!(!valid_session_id(""));
        assert!(!valid_session_id("."));
        assert!(!valid_session_id(".."));
        assert!(!valid_session_id("a b"));
        assert!(!valid_session_id("a/b"));
        assert!(!valid_session_id("é"));
        assert!(valid_session_id(&"x".repeat(128)));
        assert!(!valid_session_id(&"x".repeat(129)));
    }
}
