//! Server functions: the reads the pages need when they render, on the server
//! first and from the browser later. They authenticate with the session cookie.

use leptos::prelude::*;
use protocol::objects::{Bot, Me};
use protocol::rest::{ConversationList, MessageList, ServerInfo, VisitorConversationList};
use serde::{Deserialize, Serialize};

/// Who is signed in, and what the server offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub user: Me,
    pub info: ServerInfo,
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use std::sync::Arc;

    use engine::auth::Identity;
    use engine::Engine;
    use leptos::prelude::*;

    pub fn engine() -> Result<Arc<Engine>, ServerFnError> {
        use_context::<Arc<Engine>>().ok_or_else(|| ServerFnError::new("engine missing from context"))
    }

    /// The identity of the session cookie, if it is valid.
    pub async fn identity() -> Result<Option<(Arc<Engine>, Identity)>, ServerFnError> {
        let engine = engine()?;
        let headers: axum::http::HeaderMap = leptos_axum::extract().await?;
        let Some(token) = engine::auth::session_token(&headers) else {
            return Ok(None);
        };
        // The same admission as the API: revoked tokens and visitors of removed bots are refused.
        match engine.admission.identify(&token).await {
            Ok(who) => Ok(Some((engine, who))),
            Err(_) => Ok(None),
        }
    }

    pub async fn required() -> Result<(Arc<Engine>, Identity), ServerFnError> {
        match identity().await? {
            Some(found) => Ok(found),
            None => Err(fail(engine::Error::auth_required())),
        }
    }

    /// A refusal as the server function's answer, with the contract's HTTP
    /// status for its code (an unknown bot is `404`, not `500`). Only a call
    /// from the browser (a `POST` to the function) gets the status: during
    /// server rendering the response is the page's, whose status the page decides.
    pub fn fail(e: engine::Error) -> ServerFnError {
        let called = use_context::<axum::http::request::Parts>().is_some_and(|p| p.method == axum::http::Method::POST);
        if let Some(res) = use_context::<leptos_axum::ResponseOptions>().filter(|_| called) {
            let status = axum::http::StatusCode::from_u16(e.code.http_status())
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
            res.set_status(status);
        }
        ServerFnError::new(format!("{}: {}", e.code, e.message))
    }
}

#[server]
pub async fn get_session() -> Result<Option<Session>, ServerFnError> {
    let Some((engine, who)) = server::identity().await? else {
        return Ok(None);
    };
    let Ok(user) = engine.accounts.me(&who).await else {
        return Ok(None);
    };
    if user.role == protocol::objects::Role::Visitor {
        return Ok(None);
    }
    let c = &engine.config;
    Ok(Some(Session {
        user,
        info: ServerInfo {
            provider: c.provider.as_str().into(),
            model: c.model.clone(),
            models: c.models.clone(),
            max_message_chars: c.max_message_chars,
            guests: c.guests,
        },
    }))
}

#[server]
pub async fn guests_allowed() -> Result<bool, ServerFnError> {
    Ok(server::engine()?.config.guests)
}

#[server]
pub async fn load_conversations(cursor: Option<String>, q: Option<String>) -> Result<ConversationList, ServerFnError> {
    let (engine, who) = server::required().await?;
    engine
        .conversations
        .list(&who, 30, cursor.as_deref(), q.as_deref())
        .await
        .map_err(server::fail)
}

/// A page of a conversation's messages; `None` when it does not exist (yet).
#[server]
pub async fn load_messages(session_id: String, before: Option<String>) -> Result<Option<MessageList>, ServerFnError> {
    let (engine, who) = server::required().await?;
    match engine
        .conversations
        .messages(&who, &session_id, 40, before.as_deref())
        .await
    {
        Ok(page) => Ok(Some(page)),
        Err(e) if e.code == protocol::ErrorCode::NotFound || e.code == protocol::ErrorCode::ValidationError => Ok(None),
        Err(e) => Err(server::fail(e)),
    }
}

/// The conversation's bot id (to show which bot it talks to).
#[server]
pub async fn conversation_bot(session_id: String) -> Result<Option<String>, ServerFnError> {
    let (engine, who) = server::required().await?;
    Ok(engine.conversations.get(&who, &session_id).await.ok().map(|c| c.bot_id))
}

#[server]
pub async fn load_bots() -> Result<Vec<Bot>, ServerFnError> {
    let (engine, who) = server::required().await?;
    engine.bots.list(&who).await.map_err(server::fail)
}

#[server]
pub async fn load_visitor_conversations(bot_id: String) -> Result<VisitorConversationList, ServerFnError> {
    let (engine, who) = server::required().await?;
    engine
        .conversations
        .visitor_conversations(&who, &bot_id, 50, None)
        .await
        .map_err(server::fail)
}

#[server]
pub async fn load_visitor_transcript(
    bot_id: String,
    visitor_id: String,
    session_id: String,
) -> Result<MessageList, ServerFnError> {
    let (engine, who) = server::required().await?;
    engine
        .conversations
        .visitor_transcript(&who, &bot_id, &visitor_id, &session_id, 200, None)
        .await
        .map_err(server::fail)
}

/// The public URL pages show in widget snippets.
#[server]
pub async fn public_url() -> Result<String, ServerFnError> {
    let engine = server::engine()?;
    if let Some(u) = &engine.config.public_url {
        return Ok(u.clone());
    }
    let headers: axum::http::HeaderMap = leptos_axum::extract().await?;
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("http");
    Ok(format!("{proto}://{host}"))
}
