use protocol::codes::ErrorCode;
use protocol::frames::{Complete, ErrorFrame, ServerFrame};
use protocol::objects::{FinishReason, Message, MessageRole, MessageStatus, ReplyMetadata, Usage};
use serde_json::json;

use super::*;

fn msg(id: &str, role: MessageRole, status: MessageStatus, content: &str, seq: u64) -> Message {
    Message {
        id: id.into(),
        session_id: "s".into(),
        role,
        content: content.into(),
        status,
        client_id: None,
        created_at: String::new(),
        reply_id: None,
        metadata: json!({ "seq": seq }),
        read_at: None,
        feedback: None,
    }
}

fn streaming(id: &str, content: &str, seq: u64) -> Message {
    msg(id, MessageRole::Assistant, MessageStatus::Streaming, content, seq)
}

fn token(id: &str, seq: u64, text: &str) -> ServerFrame {
    ServerFrame::Token {
        token: text.into(),
        reply_id: id.into(),
        session_id: "s".into(),
        seq,
    }
}

fn complete(id: &str, response: &str) -> ServerFrame {
    ServerFrame::Complete(Complete {
        response: response.into(),
        session_id: "s".into(),
        reply_id: id.into(),
        message_id: id.into(),
        metadata: ReplyMetadata {
            agent: "Assistant".into(),
            model: "demo".into(),
            finish_reason: FinishReason::Stop,
            usage: Usage::default(),
            ttft_ms: None,
            duration_ms: None,
        },
    })
}

fn not_found(id: &str) -> ServerFrame {
    let mut e = ErrorFrame::new(ErrorCode::NotFound, "reply not found");
    e.reply_id = Some(id.into());
    ServerFrame::Error(e)
}

#[test]
fn a_generating_reply_is_resumed_after_its_checkpoint_and_grows_token_by_token() {
    let mut f = Follow::new();
    let t = vec![
        msg("u", MessageRole::User, MessageStatus::Complete, "hi", 0),
        streaming("r", "Hello", 2),
    ];
    assert_eq!(f.on_transcript(&t), vec![("r".to_string(), 2)]);
    assert_eq!(f.text("r"), Some("Hello"));
    assert!(!f.needs_checkpoints(&t, true), "followed live: no reloads");
    let mut lengths = Vec::new();
    for (seq, piece) in [(3, ","), (4, " wor"), (5, "ld")] {
        let o = f.on_frame(&token("r", seq, piece));
        assert_eq!(o.changed.as_deref(), Some("r"));
        lengths.push(f.text("r").map_or(0, str::len));
    }
    assert_eq!(lengths, vec![6, 10, 12], "one step per token");
    // A token already shown changes nothing.
    assert_eq!(f.on_frame(&token("r", 4, " wor")), Outcome::default());
    // complete's response is the final text.
    assert_eq!(
        f.on_frame(&complete("r", "Hello, world!")).changed.as_deref(),
        Some("r")
    );
    assert_eq!(f.text("r"), Some("Hello, world!"));
    assert!(f.finished("r"));
    assert!(!f.needs_checkpoints(&t, false));
}

#[test]
fn a_reload_neither_resumes_again_nor_rolls_the_text_back() {
    let mut f = Follow::new();
    assert_eq!(f.on_transcript(&[streaming("r", "", 0)]).len(), 1);
    f.on_frame(&token("r", 1, "abc"));
    f.on_frame(&token("r", 2, "def"));
    // An older checkpoint arrives with the next reload.
    assert_eq!(f.on_transcript(&[streaming("r", "abc", 1)]), vec![]);
    assert_eq!(f.text("r"), Some("abcdef"));
    // The reload shows it finished: the stored text wins.
    f.on_transcript(&[msg("r", MessageRole::Assistant, MessageStatus::Complete, "abcdefg", 3)]);
    assert_eq!(f.text("r"), Some("abcdefg"));
    assert!(f.finished("r"));
}

#[test]
fn tokens_of_replies_not_in_the_open_transcript_are_ignored() {
    let mut f = Follow::new();
    assert_eq!(f.on_frame(&token("x", 1, "a")), Outcome::default());
    assert_eq!(f.text("x"), None);
    f.on_transcript(&[streaming("r", "", 0)]);
    f.on_frame(&token("r", 1, "a"));
    // Another conversation opened: the old reply's late tokens are dropped.
    f.clear();
    assert_eq!(f.on_frame(&token("r", 2, "b")), Outcome::default());
    assert_eq!(f.on_frame(&complete("r", "ab")), Outcome::default());
    assert_eq!(f.text("r"), None);
    // Finished messages and the visitor's own are never followed.
    let t = [
        msg("u", MessageRole::User, MessageStatus::Complete, "q", 0),
        msg("a", MessageRole::Assistant, MessageStatus::Complete, "done", 0),
    ];
    assert_eq!(f.on_transcript(&t), vec![]);
    assert!(!f.needs_checkpoints(&t, true));
}

#[test]
fn a_gap_costs_one_resume() {
    let mut f = Follow::new();
    f.on_transcript(&[streaming("r", "", 0)]);
    f.on_frame(&token("r", 1, "a"));
    let o = f.on_frame(&token("r", 3, "c"));
    assert_eq!(o.resume, Some(("r".to_string(), 1)));
    assert_eq!(f.on_frame(&token("r", 4, "d")).resume, None);
    f.on_frame(&token("r", 2, "b"));
    assert_eq!(f.text("r"), Some("ab"));
}

#[test]
fn a_refused_follow_falls_back_to_checkpoints_until_the_next_reload() {
    let mut f = Follow::new();
    let t = vec![streaming("r", "abc", 3)];
    f.on_transcript(&t);
    assert!(!f.needs_checkpoints(&t, true));
    // e.g. the server does not let this identity follow it: NOT_FOUND.
    assert_eq!(f.on_frame(&not_found("r")).changed.as_deref(), Some("r"));
    assert!(f.needs_checkpoints(&t, true));
    assert_eq!(f.text("r"), None, "the transcript's own text shows");
    assert_eq!(f.on_frame(&token("r", 4, "d")), Outcome::default());
    assert_eq!(f.reconnected(), vec![], "not resumed on reconnect either");
    // The next checkpoint is the new start, and following is tried again.
    let t = vec![streaming("r", "abcdef", 6)];
    assert_eq!(f.on_transcript(&t), vec![("r".to_string(), 6)]);
    assert!(!f.needs_checkpoints(&t, true));
    // An error about a reply not followed changes nothing.
    assert_eq!(f.on_frame(&not_found("zzz")), Outcome::default());
}

#[test]
fn a_dropped_connection_reloads_checkpoints_and_resumes_where_it_was() {
    let mut f = Follow::new();
    let t = vec![streaming("r", "", 0), streaming("q", "", 0)];
    assert_eq!(f.on_transcript(&t).len(), 2);
    f.on_frame(&token("r", 1, "a"));
    f.on_frame(&token("r", 2, "b"));
    f.on_frame(&complete("q", "done"));
    assert!(f.needs_checkpoints(&t, false), "disconnected: reload checkpoints");
    assert_eq!(f.reconnected(), vec![("r".to_string(), 2)]);
    assert!(!f.needs_checkpoints(&t, true));
}
