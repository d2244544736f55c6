//! Frame type names, shared without serde (the widget reads frames with `JSON.parse`).

pub mod client {
    pub const AUTH: &str = "auth";
    pub const MESSAGE: &str = "message";
    pub const STOP: &str = "stop";
    pub const REGENERATE: &str = "regenerate";
    pub const RESUME: &str = "resume";
    pub const JOIN: &str = "join";
    pub const LEAVE: &str = "leave";
    pub const TYPING: &str = "typing";
    pub const PING: &str = "ping";
    pub const READ: &str = "read";
    pub const PRESENCE: &str = "presence";
}

pub mod server {
    pub const AUTH_SUCCESS: &str = "auth_success";
    pub const AUTH_ERROR: &str = "auth_error";
    pub const ACK: &str = "ack";
    pub const PROGRESS: &str = "progress";
    pub const STREAM_START: &str = "stream_start";
    pub const TOKEN: &str = "token";
    pub const COMPLETE: &str = "complete";
    pub const ERROR: &str = "error";
    pub const TYPING: &str = "typing";
    pub const MESSAGE_ADDED: &str = "message_added";
    pub const CONVERSATION_UPDATED: &str = "conversation_updated";
    pub const CONVERSATION_DELETED: &str = "conversation_deleted";
    pub const JOINED: &str = "joined";
    pub const PONG: &str = "pong";
    pub const READ: &str = "read";
    pub const PRESENCE: &str = "presence";
    pub const HANDOFF: &str = "handoff";
}

/// Paths every client uses.
pub mod paths {
    pub const WS_CHAT: &str = "/ws/chat";
    pub const API_WS: &str = "/api/v1/chat/ws";
    pub const WIDGET_SESSION: &str = "/api/v1/widget/session";
    pub const CHAT_MESSAGES: &str = "/api/v1/chat/messages";
    pub const CHAT_EVENTS: &str = "/api/v1/chat/events";
    pub const REPLIES: &str = "/api/v1/chat/replies";
}
