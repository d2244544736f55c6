//! `GET /api/v1/chat/events?session_id=S`: the identity's live events as SSE, for
//! clients without a WebSocket (and `GET /api/v1/bots/{id}/events` for a bot's
//! owner). Like a WebSocket connection, it is a registered subscriber with a
//! bounded inbox; one that cannot keep up is closed.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use engine::hub::{EntryKind, Event, Filter, Subscription};
use engine::Engine;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::frame_type;
use crate::error::HttpResult;
use crate::extract::{IdPath, Params, StreamAuth};
use crate::state::AppState;

const QUEUE: usize = 256;

fn sse(name: &str, data: &str) -> SseEvent {
    SseEvent::default().event(name).data(data)
}

/// Pumps a subscription's events into an SSE body until the client goes away,
/// falls behind, or the server shuts down.
fn pump(
    mut sub: Subscription,
    close: CancellationToken,
    engine: Arc<Engine>,
) -> impl futures::Stream<Item = Result<SseEvent, Infallible>> {
    let (tx, rx) = mpsc::channel::<SseEvent>(QUEUE);
    tokio::spawn(async move {
        let mut watchers = tokio::task::JoinSet::new();
        loop {
            let ev = tokio::select! {
                ev = sub.inbox.recv() => ev,
                _ = sub.slow.cancelled() => {
                    engine.admission.count_slow_consumer(engine::hub::Transport::Sse);
                    break;
                }
                // Logged out, or a visitor whose bot was removed: the stream ends.
                _ = sub.cut.cancelled() => break,
                _ = tx.closed() => break,
                _ = close.cancelled() => break,
            };
            let Some(ev) = ev else { break };
            let out = match &*ev {
                Event::Frame { frame, name, .. } => sse(name, frame.as_str()),
                Event::Deleted { frame, .. } => sse("conversation_deleted", frame.as_str()),
                Event::ReplyStarted(log) => {
                    // The reply's start, typing and end; its tokens come from its own stream.
                    let tx = tx.clone();
                    let log = log.clone();
                    watchers.spawn(async move {
                        let mut f = log.follow(Filter::All);
                        while let Some(batch) = f.next_batch().await {
                            for e in batch {
                                let name = frame_type(e.frame.as_str());
                                let wanted = matches!(e.kind, EntryKind::Complete | EntryKind::Epilogue)
                                    || (e.kind == EntryKind::Preamble && matches!(name, "stream_start" | "typing"));
                                if wanted && !queue(&tx, sse(name, e.frame.as_str())).await {
                                    return;
                                }
                            }
                        }
                    });
                    continue;
                }
            };
            if !queue(&tx, out).await {
                break;
            }
        }
        watchers.abort_all();
    });
    tokio_stream_from(rx)
}

/// Queues an event for the response body; a client that has not taken any for
/// five seconds is too slow, and its stream ends (EventSource reconnects).
async fn queue(tx: &mpsc::Sender<SseEvent>, ev: SseEvent) -> bool {
    matches!(
        tokio::time::timeout(std::time::Duration::from_secs(5), tx.send(ev)).await,
        Ok(Ok(()))
    )
}

fn tokio_stream_from(mut rx: mpsc::Receiver<SseEvent>) -> impl futures::Stream<Item = Result<SseEvent, Infallible>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|o| o.map(Ok)))
}

fn respond(sub: Subscription, close: CancellationToken, engine: Arc<Engine>) -> Response {
    let body = pump(sub, close, engine);
    (
        super::stream_headers(),
        Sse::new(body).keep_alive(KeepAlive::new().interval(super::sse::HEARTBEAT)),
    )
        .into_response()
}

pub async fn chat_events(
    State(state): State<AppState>,
    StreamAuth(auth): StreamAuth,
    params: Params,
) -> HttpResult<Response> {
    let engine: Arc<Engine> = state.engine.clone();
    let sub = engine
        .admission
        .subscribe(&auth.who, engine::hub::Transport::Sse)
        .await?;
    if let Some(session) = params.get("session_id").filter(|s| !s.is_empty()) {
        engine
            .replies
            .join(&auth.who, sub.id, session, engine::chat::Via::Http)
            .await?;
    }
    Ok(respond(sub, state.shutdown.clone(), engine))
}

pub async fn bot_events(
    State(state): State<AppState>,
    StreamAuth(auth): StreamAuth,
    IdPath(bot_id): IdPath,
) -> HttpResult<Response> {
    let engine: Arc<Engine> = state.engine.clone();
    let bot = engine.bots.own(&auth.who, &bot_id).await?;
    let sub = engine
        .admission
        .subscribe(&auth.who, engine::hub::Transport::Sse)
        .await?;
    engine.people.watch_bot(sub.id, &bot.id);
    Ok(respond(sub, state.shutdown.clone(), engine))
}
