//! `GET …/replies/{id}/poll?after_seq=N&wait_ms=W`: long polling. Answers as soon
//! as anything after N exists (or the reply finished), or when W (≤ 30 s) passes.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::Json;
use engine::chat::ReplyView;
use engine::hub::{EntryKind, Filter, ReplyState};
use engine::Engine;
use protocol::objects::MessageStatus;
use protocol::rest::{PollResponse, PolledToken};
use protocol::ErrorCode;

use crate::error::{HttpError, HttpResult};
use crate::extract::{IdPath, Params, StreamAuth};

const MAX_WAIT_MS: u64 = 30_000;

pub async fn poll(
    State(engine): State<Arc<Engine>>,
    StreamAuth(auth): StreamAuth,
    IdPath(reply_id): IdPath,
    params: Params,
) -> HttpResult<Json<PollResponse>> {
    let after = params.u64("after_seq", 0)?;
    let wait_ms = params.u64("wait_ms", 25_000)?;
    if wait_ms > MAX_WAIT_MS {
        return Err(HttpError::new(ErrorCode::ValidationError, "wait_ms: at most 30000"));
    }
    let log = match engine.replies.find_to_follow(&auth.who, &reply_id).await? {
        ReplyView::Stored { complete, status, .. } => {
            let complete = (!status.is_live()).then_some(*complete);
            return Ok(Json(PollResponse {
                tokens: Vec::new(),
                status,
                complete,
            }));
        }
        ReplyView::Live(log) => log,
    };
    // A waiting poll is an open stream: logging out or removing a visitor's bot ends it.
    let sub = engine
        .admission
        .subscribe(&auth.who, engine::hub::Transport::LongPoll)
        .await?;
    let mut follower = log.follow(Filter::After(after));
    let mut tokens = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(wait_ms);
    loop {
        let batch = tokio::select! {
            _ = sub.cut.cancelled() => return Err(engine.admission.cut_reason(&auth.who).await.into()),
            b = tokio::time::timeout_at(deadline, follower.next_batch()) => b,
        };
        let Ok(Some(batch)) = batch else { break };
        for e in batch {
            if e.kind == EntryKind::Token {
                tokens.push(PolledToken {
                    seq: e.seq,
                    token: e.text.as_deref().unwrap_or_default().to_string(),
                });
            }
        }
        if !tokens.is_empty() || log.is_finished() {
            break;
        }
    }
    let (status, complete) = match log.state() {
        ReplyState::Queued => (MessageStatus::Queued, None),
        ReplyState::Streaming => (MessageStatus::Streaming, None),
        ReplyState::Finished { status, complete } => {
            // Only once every token has been handed out is the reply complete here.
            let all = tokens.last().map_or(after, |t| t.seq) >= log.last_seq();
            if all {
                (status, Some(*complete))
            } else {
                (MessageStatus::Streaming, None)
            }
        }
    };
    Ok(Json(PollResponse {
        tokens,
        status,
        complete,
    }))
}
