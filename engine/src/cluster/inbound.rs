//! What the other nodes say, delivered to this node's connections.

use std::sync::{Arc, Weak};

use protocol::objects::FinishReason;
use tokio::sync::mpsc;

use super::bus::Body;
use super::{event_name, Cluster};
use crate::chat::runner::Runner;
use crate::chat::scheduler::Stopped;
use crate::hub::Event;

fn frame(frame: String, name: &str) -> Event {
    Event::Frame {
        frame: frame.into(),
        name: event_name(name),
        origin: None,
    }
}

pub(super) async fn dispatch(cluster: Arc<Cluster>, engine: Weak<Runner>, mut rx: mpsc::UnboundedReceiver<Body>) {
    while let Some(body) = rx.recv().await {
        let Some(engine) = engine.upgrade() else {
            return;
        };
        let registry = &engine.hub.registry;
        match body {
            Body::Owner { owner, name, frame: f } => registry.local_owner(&owner, frame(f, &name)),
            Body::Conversation {
                owner,
                session,
                name,
                frame: f,
            } => registry.local_conversation(&owner, &session, frame(f, &name)),
            Body::Bot { bot, name, frame: f } => registry.local_bot(&bot, frame(f, &name)),
            Body::Visitors { bot, name, frame: f } => registry.publish_bot_visitors(&bot, frame(f, &name)),
            Body::Deleted { owner, session, frame } => {
                registry.forget_conversation(&owner, &session);
                registry.local_owner(
                    &owner,
                    Event::Deleted {
                        session_id: session,
                        frame: frame.into(),
                    },
                );
            }
            Body::Reply {
                owner,
                session,
                reply_id,
                message_id,
            } => {
                if !registry.has_joined(&owner, &session) {
                    continue;
                }
                if let Some(log) = super::mirror(&cluster, &owner, &session, &reply_id, &message_id) {
                    registry.local_conversation(&owner, &session, Event::ReplyStarted(log));
                }
            }
            Body::Revoked { jti } => {
                cluster.revoked_elsewhere(&jti);
                let closed = registry.cut_token(&jti);
                tracing::info!(closed, "token revoked on another node: its connections here closed");
            }
            Body::BotClosed { bot } => {
                let closed = registry.cut_bot_visitors(&bot);
                tracing::info!(bot_id = %bot, closed, "bot closed on another node: its visitors here cut off");
            }
            Body::HandOver { reply_id } => {
                tokio::spawn(super::takeover::take_handed(cluster.clone(), engine.clone(), reply_id));
            }
            Body::Stop {
                owner,
                session,
                reply_id,
            } => {
                if let Stopped::Dequeued(job) =
                    engine
                        .scheduler
                        .stop(&owner, &session, &reply_id, FinishReason::Stopped)
                {
                    let engine = engine.clone();
                    tokio::spawn(async move {
                        engine.finish_unstarted(&job, FinishReason::Stopped).await;
                    });
                }
            }
        }
    }
}
