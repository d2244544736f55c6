//! What a reader gets back: acknowledgements of a stored message, and a reply
//! as it is found (live in the hub, or only in storage).

use std::sync::Arc;

use protocol::frames::{Ack, Complete};
use protocol::objects::{FinishReason, MessageStatus, ReplyMetadata, Usage};

use crate::hub::ReplyLog;
use crate::store::MessageRow;
use crate::time::rfc3339;

/// A reply as a reader finds it: live in the hub, or only in storage.
pub enum ReplyView {
    Live(Arc<ReplyLog>),
    Stored {
        complete: Box<Complete>,
        status: MessageStatus,
        row: Box<MessageRow>,
    },
}

/// The `ack` of a stored user message (and its queued reply, if any).
pub(crate) fn ack_of_user(row: &MessageRow, client_id: Option<String>) -> Ack {
    Ack {
        client_id,
        message_id: row.id.clone(),
        session_id: row.conversation_id.clone(),
        created_at: rfc3339(row.created_at),
        reply_id: row.reply_id.clone(),
    }
}

/// The `ack` of a `regenerate`: the new reply to an earlier user message.
pub(crate) fn ack_of_reply(row: &MessageRow, client_id: Option<String>) -> Ack {
    Ack {
        client_id,
        message_id: row.in_reply_to.clone().unwrap_or_default(),
        session_id: row.conversation_id.clone(),
        created_at: rfc3339(row.created_at),
        reply_id: Some(row.id.clone()),
    }
}

/// The `complete` a stored reply stands for (its log is gone).
pub fn stored_complete(row: &MessageRow, default_model: &str) -> Complete {
    let meta = row.metadata_value();
    let status = row.status;
    let finish = meta
        .get("finish_reason")
        .and_then(|v| serde_json::from_value::<FinishReason>(v.clone()).ok())
        .filter(|_| status != MessageStatus::Interrupted)
        .unwrap_or(match status {
            MessageStatus::Stopped => FinishReason::Stopped,
            MessageStatus::Error => FinishReason::Error,
            MessageStatus::Interrupted | MessageStatus::Queued | MessageStatus::Streaming => FinishReason::Interrupted,
            MessageStatus::Complete => FinishReason::Stop,
        });
    let metadata = ReplyMetadata {
        agent: meta
            .get("agent")
            .and_then(|v| v.as_str())
            .unwrap_or("Assistant")
            .to_string(),
        model: meta
            .get("model")
            .and_then(|v| v.as_str())
            .unwrap_or(default_model)
            .to_string(),
        finish_reason: finish,
        usage: meta
            .get("usage")
            .and_then(|v| serde_json::from_value::<Usage>(v.clone()).ok())
            .unwrap_or_default(),
        ttft_ms: meta.get("ttft_ms").and_then(|v| v.as_u64()),
        duration_ms: meta.get("duration_ms").and_then(|v| v.as_u64()),
    };
    Complete {
        response: row.content.clone(),
        session_id: row.conversation_id.clone(),
        reply_id: row.id.clone(),
        message_id: row.id.clone(),
        metadata,
    }
}
