//! `GET …/replies/{id}/events`: a reply as Server-Sent Events. Each token has
//! `id: <seq>`, so a browser `EventSource` that drops resumes by itself with
//! `Last-Event-ID`; `complete` has `id: end`, and `Last-Event-ID: end` answers
//! `204`, which stops the browser from reconnecting.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use engine::chat::ReplyView;
use engine::hub::{Entry, EntryKind, Filter};
use engine::Engine;
use futures::stream::{self, Stream, StreamExt};
use protocol::frames::ServerFrame;
use protocol::ErrorCode;

use crate::error::{HttpError, HttpResult};
use crate::extract::{IdPath, Params, StreamAuth};

/// Heartbeat comments keep idle proxies from closing the stream.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

fn to_event(e: &Entry) -> Option<Event> {
    let data = e.frame.as_str();
    match e.kind {
        EntryKind::Token => Some(Event::default().id(e.seq.to_string()).event("token").data(data)),
        EntryKind::Error => Some(Event::default().event("error").data(data)),
        EntryKind::Complete => Some(Event::default().id("end").event("complete").data(data)),
        EntryKind::Preamble | EntryKind::Epilogue => None,
    }
}

pub async fn reply_events(
    State(engine): State<Arc<Engine>>,
    StreamAuth(auth): StreamAuth,
    IdPath(reply_id): IdPath,
    params: Params,
    headers: HeaderMap,
) -> HttpResult<Response> {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    if last == Some("end") {
        // The stream already ended for this client: tell EventSource to stop.
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let after = match last {
        Some(id) => id.parse::<u64>().map_err(|_| {
            HttpError::new(
                ErrorCode::ValidationError,
                format!("Last-Event-ID: expected a seq or \"end\", got {id:?}"),
            )
        })?,
        None => params.u64("after_seq", 0)?,
    };
    let sub = engine
        .admission
        .subscribe(&auth.who, engine::hub::Transport::Sse)
        .await?;
    if after > 0 {
        engine.admission.count_resume(engine::hub::Transport::Sse);
    }
    // Logged out, or a visitor whose bot was removed: the stream ends at once.
    let cut = sub.cut.clone().cancelled_owned();
    let body: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> =
        match engine.replies.find_to_follow(&auth.who, &reply_id).await? {
            ReplyView::Stored { complete, .. } => {
                let frame = ServerFrame::Complete(*complete).to_json();
                stream::iter([Ok(Event::default().id("end").event("complete").data(frame))]).boxed()
            }
            ReplyView::Live(log) => {
                let follower = log.follow(Filter::After(after));
                // Ask browsers to reconnect after a second, not their default three.
                let retry = stream::iter([Ok(Event::default().retry(Duration::from_secs(1)).comment("resume"))]);
                let events = stream::unfold((follower, sub), |(mut f, sub)| async move {
                    let batch = f.next_batch().await?;
                    let events: Vec<Result<Event, Infallible>> = batch.iter().filter_map(to_event).map(Ok).collect();
                    Some((stream::iter(events), (f, sub)))
                })
                .flatten();
                retry.chain(events).take_until(cut).boxed()
            }
        };
    Ok((
        super::stream_headers(),
        Sse::new(body).keep_alive(KeepAlive::new().interval(HEARTBEAT)),
    )
        .into_response())
}
