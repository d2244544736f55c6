//! WebSocket frames (contract §3). Server frames serialize with a `type` tag; client
//! frames are parsed field by field so that each fault gets its own error code.

use serde::{Deserialize, Serialize};

use crate::codes::ErrorCode;
use crate::objects::{Conversation, ConversationMode, Message, PresenceStatus, ReplyMetadata, User};

/// `progress.step`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProgressStep {
    Starting,
    Generating,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Actor {
    Assistant,
    User,
    /// The bot's owner, answering in person (§9.1).
    Operator,
}

/// `read.reader`: which side read (contract §9.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reader {
    User,
    Visitor,
    Operator,
}

/// `presence.actor` (contract §9.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PresenceActor {
    Operator,
    Visitor,
}

/// `handoff.operator`: the person answering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorInfo {
    pub name: String,
}

/// A client's own `presence.status`: only `online` or `away` (§3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientPresence {
    Online,
    Away,
}

/// `joined.active_reply`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveReply {
    pub reply_id: String,
    pub seq: u64,
}

/// The `complete` frame's body; also the long poll's `complete` and the HTTP chat answer's core.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Complete {
    pub response: String,
    pub session_id: String,
    pub reply_id: String,
    pub message_id: String,
    pub metadata: ReplyMetadata,
}

/// `ack`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub client_id: Option<String>,
    pub message_id: String,
    pub session_id: String,
    pub created_at: String,
    /// The reply that will answer; null in `human` mode, where none starts (§9.1).
    pub reply_id: Option<String>,
}

/// `error`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFrame {
    pub error: String,
    pub code: ErrorCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ErrorFrame {
    pub fn new(code: ErrorCode, error: impl Into<String>) -> Self {
        ErrorFrame {
            error: error.into(),
            code,
            client_id: None,
            reply_id: None,
            retry_after_ms: None,
        }
    }
}

/// Every frame the server sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    AuthSuccess {
        message: String,
        user: User,
    },
    AuthError {
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<ErrorCode>,
    },
    Ack(Ack),
    Progress {
        step: ProgressStep,
        message: String,
    },
    StreamStart {
        reply_id: String,
        session_id: String,
        message_id: String,
    },
    Token {
        token: String,
        reply_id: String,
        session_id: String,
        seq: u64,
    },
    Complete(Complete),
    Error(ErrorFrame),
    Typing {
        session_id: String,
        actor: Actor,
        is_typing: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
    },
    MessageAdded {
        session_id: String,
        message: Message,
    },
    ConversationUpdated {
        conversation: Conversation,
    },
    ConversationDeleted {
        session_id: String,
    },
    Joined {
        session_id: String,
        active_reply: Option<ActiveReply>,
    },
    Pong {
        #[serde(default)]
        ts: serde_json::Value,
    },
    /// §9.3: `reader` has read everything up to `message_id`.
    Read {
        session_id: String,
        reader: Reader,
        message_id: String,
        read_at: String,
    },
    /// §9.2: someone's presence changed.
    Presence {
        actor: PresenceActor,
        status: PresenceStatus,
        last_seen_at: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        visitor_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_id: Option<String>,
    },
    /// §9.1: the conversation's mode changed.
    Handoff {
        session_id: String,
        mode: ConversationMode,
        operator: Option<OperatorInfo>,
    },
}

impl ServerFrame {
    /// The frame as JSON text. Serializing our own types cannot fail.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"type\":\"error\"}"))
    }
}

/// `message`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageFrame {
    pub message: String,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub bot_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthFrame {
    pub token: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopFrame {
    pub reply_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegenerateFrame {
    pub session_id: String,
    #[serde(default)]
    pub client_id: Option<String>,
    /// An edit of the conversation's last user message (docs/decisions.md,
    /// issue 17): the message takes this text and the new reply answers it;
    /// earlier replies stay as versions with `metadata.prompt`, the text they
    /// answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeFrame {
    pub reply_id: String,
    /// Required (contract §3.2): `0` asks for the reply from its start.
    pub after_seq: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionFrame {
    pub session_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypingFrame {
    pub session_id: String,
    pub is_typing: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadFrame {
    pub session_id: String,
    pub message_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceFrame {
    pub status: ClientPresence,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PingFrame {
    #[serde(default)]
    pub ts: serde_json::Value,
}

/// A client frame after validation, or one a client builds to send: it
/// serializes with its `type` tag (`{"type":"resume","reply_id":…,"after_seq":…}`),
/// the shape [`ClientFrame::parse`] reads back.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Auth(AuthFrame),
    Message(MessageFrame),
    Stop(StopFrame),
    Regenerate(RegenerateFrame),
    Resume(ResumeFrame),
    Join(SessionFrame),
    Leave(SessionFrame),
    Typing(TypingFrame),
    Ping(PingFrame),
    Read(ReadFrame),
    Presence(PresenceFrame),
}

/// Why a text frame could not be understood; each maps to one error code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    pub code: ErrorCode,
    pub message: String,
}

impl ClientFrame {
    /// The frame as JSON text, as a client sends it. Serializing our own types cannot fail.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"type\":\"ping\"}"))
    }

    /// Parses one text frame. Unknown fields are ignored (contract §3).
    pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| FrameError {
            code: ErrorCode::InvalidJson,
            message: format!("frame is not valid JSON: {e}"),
        })?;
        let serde_json::Value::Object(ref map) = value else {
            return Err(FrameError {
                code: ErrorCode::InvalidFrame,
                message: "frame must be a JSON object with a \"type\"".into(),
            });
        };
        let ty = match map.get("type") {
            Some(serde_json::Value::String(t)) => t.clone(),
            Some(_) => {
                return Err(FrameError {
                    code: ErrorCode::InvalidFrame,
                    message: "\"type\" must be a string".into(),
                })
            }
            None => {
                return Err(FrameError {
                    code: ErrorCode::InvalidFrame,
                    message: "frame has no \"type\"".into(),
                })
            }
        };
        fn typed<T: serde::de::DeserializeOwned>(ty: &str, value: serde_json::Value) -> Result<T, FrameError> {
            serde_json::from_value(value).map_err(|e| FrameError {
                code: ErrorCode::InvalidFrame,
                message: format!("invalid \"{ty}\" frame: {e}"),
            })
        }
        Ok(match ty.as_str() {
            "auth" => ClientFrame::Auth(typed(&ty, value)?),
            "message" => ClientFrame::Message(typed(&ty, value)?),
            "stop" => ClientFrame::Stop(typed(&ty, value)?),
            "regenerate" => ClientFrame::Regenerate(typed(&ty, value)?),
            "resume" => ClientFrame::Resume(typed(&ty, value)?),
            "join" => ClientFrame::Join(typed(&ty, value)?),
            "leave" => ClientFrame::Leave(typed(&ty, value)?),
            "typing" => ClientFrame::Typing(typed(&ty, value)?),
            "ping" => ClientFrame::Ping(typed(&ty, value)?),
            "read" => ClientFrame::Read(typed(&ty, value)?),
            "presence" => ClientFrame::Presence(typed(&ty, value)?),
            other => {
                return Err(FrameError {
                    code: ErrorCode::UnknownType,
                    message: format!("unknown frame type \"{}\"", truncate(other, 64)),
                })
            }
        })
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests;
