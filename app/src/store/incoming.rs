//! What the live connection hands the page, decoded once into types: a
//! `protocol` [`ServerFrame`] (contract §3.3), or one of `webclient`'s own
//! reports, which are not server frames and never reach the store.
//!
//! `webclient` synthesizes frames from the HTTP fallbacks' answers (contract
//! §3.5): a long poll's tokens carry no `session_id` while their reply runs,
//! the HTTP `regenerate` answer (the `ack`) has no `message_id`, and an HTTP
//! error answer may lack `error` or `code` (a proxy's error page is not JSON). Those gaps are filled with neutral values before the typed
//! decoding ([`fill_fallback_gaps`]), so a fallback's token or error is not
//! lost. Any other frame that does not decode — an unknown `type`, a newer
//! server's shape — is [`Incoming::Ignored`]: it never breaks the page
//! (contract §3: clients ignore what they do not know).

use protocol::codes::ErrorCode;
use protocol::frames::ServerFrame;
use serde_json::Value;

/// One decoded text frame from `webclient`.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// A server frame, for [`super::Store::on_frame`].
    Server(Box<ServerFrame>),
    /// `webclient` in long-poll mode: time to refresh the list and the open
    /// conversation from REST (every 10 s; `{"type":"poll_tick"}`).
    PollTick,
    /// `webclient` could not send a frame over HTTP (`{"type":"send_failed"}`):
    /// the message stays in the outbox and goes again on the next ready.
    SendFailed,
    /// Not understood (unknown type, malformed): ignored.
    Ignored,
}

/// Decodes one text frame; never fails (see [`Incoming::Ignored`]).
pub fn decode(text: &str) -> Incoming {
    let Ok(mut value) = serde_json::from_str::<Value>(text) else {
        return Incoming::Ignored;
    };
    match value.get("type").and_then(Value::as_str) {
        Some("poll_tick") => return Incoming::PollTick,
        Some("send_failed") => return Incoming::SendFailed,
        Some(_) => {}
        None => return Incoming::Ignored,
    }
    fill_fallback_gaps(&mut value);
    match serde_json::from_value::<ServerFrame>(value) {
        Ok(f) => Incoming::Server(Box::new(f)),
        Err(_) => Incoming::Ignored,
    }
}

/// Fills the fields an HTTP fallback's synthesized frame may lack (see the
/// module doc): a token's `session_id` (empty: the store finds the reply by
/// its id), an ack's `message_id` (empty: a `regenerate` stores no message),
/// an error's `error` text and `code` (`PROCESSING_ERROR`, the contract's
/// code for a failure the client cannot name).
fn fill_fallback_gaps(value: &mut Value) {
    let Some(obj) = value.as_object_mut() else {
        return;
    };
    let absent = |obj: &serde_json::Map<String, Value>, k: &str| obj.get(k).is_none_or(Value::is_null);
    let fill_empty = |obj: &mut serde_json::Map<String, Value>, k: &str| {
        if absent(obj, k) {
            obj.insert(k.into(), Value::String(String::new()));
        }
    };
    match obj.get("type").and_then(Value::as_str) {
        Some("token") => fill_empty(obj, "session_id"),
        Some("ack") => {
            fill_empty(obj, "message_id");
            fill_empty(obj, "session_id");
            fill_empty(obj, "created_at");
        }
        Some("error") => {
            if !obj.get("error").is_some_and(Value::is_string) {
                obj.insert("error".into(), Value::String("Something went wrong.".into()));
            }
            let known = obj
                .get("code")
                .is_some_and(|c| serde_json::from_value::<ErrorCode>(c.clone()).is_ok());
            if !known {
                obj.insert("code".into(), Value::String(ErrorCode::ProcessingError.as_str().into()));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webclient_reports_are_not_server_frames() {
        assert_eq!(decode(r#"{"type":"poll_tick"}"#), Incoming::PollTick);
        assert_eq!(
            decode(r#"{"type":"send_failed","client_id":"c"}"#),
            Incoming::SendFailed
        );
    }

    #[test]
    fn unknown_and_malformed_frames_are_ignored() {
        for text in [
            r#"{"type":"dance","x":1}"#,
            r#"{"type":"token","reply_id":"r"}"#,
            r#"{"no_type":true}"#,
            "[1,2]",
            "not json",
            "",
        ] {
            assert_eq!(decode(text), Incoming::Ignored, "{text}");
        }
    }

    #[test]
    fn a_websocket_token_decodes_typed() {
        let f = decode(r#"{"type":"token","token":"Hi","reply_id":"r","session_id":"s","seq":3,"extra":1}"#);
        assert_eq!(
            f,
            Incoming::Server(Box::new(ServerFrame::Token {
                token: "Hi".into(),
                reply_id: "r".into(),
                session_id: "s".into(),
                seq: 3,
            }))
        );
    }

    #[test]
    fn a_long_poll_token_without_session_decodes() {
        let f = decode(r#"{"type":"token","token":"Hi","reply_id":"r","seq":1}"#);
        assert!(
            matches!(&f, Incoming::Server(b) if matches!(&**b, ServerFrame::Token { session_id, seq: 1, .. } if session_id.is_empty())),
            "{f:?}"
        );
    }

    #[test]
    fn an_http_regenerate_ack_without_message_id_decodes() {
        let f = decode(
            r#"{"type":"ack","client_id":"c","message_id":null,"session_id":"s","reply_id":"r","created_at":"t"}"#,
        );
        assert!(
            matches!(&f, Incoming::Server(b) if matches!(&**b, ServerFrame::Ack(a) if a.message_id.is_empty() && a.reply_id.as_deref() == Some("r"))),
            "{f:?}"
        );
    }

    #[test]
    fn an_http_error_without_code_or_text_still_reaches_its_message() {
        let error_of = |text: &str| match decode(text) {
            Incoming::Server(b) => match *b {
                ServerFrame::Error(e) => e,
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        };
        let e = error_of(r#"{"type":"error","client_id":"c"}"#);
        assert_eq!(e.client_id.as_deref(), Some("c"));
        assert_eq!(e.code, ErrorCode::ProcessingError);
        assert_eq!(e.error, "Something went wrong.");
        let e = error_of(r#"{"type":"error","error":"Too many","code":"RATE_LIMITED","client_id":"c"}"#);
        assert_eq!((e.code, e.error.as_str()), (ErrorCode::RateLimited, "Too many"));
        let e = error_of(r#"{"type":"error","error":"Odd","code":"NEW_CODE","reply_id":"r"}"#);
        assert_eq!((e.code, e.reply_id.as_deref()), (ErrorCode::ProcessingError, Some("r")));
    }
}
