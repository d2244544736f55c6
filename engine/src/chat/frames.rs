//! Building the frames a reply and the live events produce. The token frame is
//! the hot path: it is serialized from borrowed fields, once per token.

use protocol::frames::{Actor, Complete, ErrorFrame, ProgressStep, ServerFrame};
use protocol::objects::{Conversation, Message};
use serde::Serialize;

#[derive(Serialize)]
struct TokenOut<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    token: &'a str,
    reply_id: &'a str,
    session_id: &'a str,
    seq: u64,
}

pub fn token(token: &str, reply_id: &str, session_id: &str, seq: u64) -> String {
    serde_json::to_string(&TokenOut {
        ty: "token",
        token,
        reply_id,
        session_id,
        seq,
    })
    .unwrap_or_default()
}

pub fn progress(step: ProgressStep) -> String {
    let message = match step {
        ProgressStep::Starting => "Processing started",
        ProgressStep::Generating => "Generating response",
    };
    ServerFrame::Progress {
        step,
        message: message.into(),
    }
    .to_json()
}

pub fn assistant_typing(session_id: &str, is_typing: bool) -> String {
    ServerFrame::Typing {
        session_id: session_id.into(),
        actor: Actor::Assistant,
        is_typing,
        user_id: None,
    }
    .to_json()
}

pub fn user_typing(session_id: &str, user_id: &str, is_typing: bool) -> String {
    ServerFrame::Typing {
        session_id: session_id.into(),
        actor: Actor::User,
        is_typing,
        user_id: Some(user_id.into()),
    }
    .to_json()
}

pub fn stream_start(reply_id: &str, session_id: &str, message_id: &str) -> String {
    ServerFrame::StreamStart {
        reply_id: reply_id.into(),
        session_id: session_id.into(),
        message_id: message_id.into(),
    }
    .to_json()
}

pub fn complete(c: &Complete) -> String {
    ServerFrame::Complete(c.clone()).to_json()
}

pub fn error(e: ErrorFrame) -> String {
    ServerFrame::Error(e).to_json()
}

pub fn conversation_updated(c: Conversation) -> String {
    ServerFrame::ConversationUpdated { conversation: c }.to_json()
}

pub fn conversation_deleted(session_id: &str) -> String {
    ServerFrame::ConversationDeleted {
        session_id: session_id.into(),
    }
    .to_json()
}

pub fn message_added(session_id: &str, message: Message) -> String {
    ServerFrame::MessageAdded {
        session_id: session_id.into(),
        message,
    }
    .to_json()
}

/// A frame for a bot owner's live view: the same JSON plus `visitor_id`.
pub fn with_visitor(frame: &str, visitor_id: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(frame) {
        Ok(serde_json::Value::Object(mut m)) => {
            m.insert("visitor_id".into(), visitor_id.into());
            serde_json::Value::Object(m).to_string()
        }
        _ => frame.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_frame_matches_the_protocol_type() {
        let s = token("he said \"hi\"\n", "r", "s", 7);
        let back: ServerFrame = serde_json::from_str(&s).unwrap();
        assert_eq!(
            back,
            ServerFrame::Token {
                token: "he said \"hi\"\n".into(),
                reply_id: "r".into(),
                session_id: "s".into(),
                seq: 7
            }
        );
    }

    #[test]
    fn visitor_frames_gain_the_visitor() {
        let f = with_visitor(&conversation_deleted("s"), "v1");
        let v: serde_json::Value = serde_json::from_str(&f).unwrap();
        assert_eq!(v["visitor_id"], "v1");
        assert_eq!(v["type"], "conversation_deleted");
    }
}
