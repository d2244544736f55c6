//! A new conversation's first reply opens the model's stream while its
//! exchange commits (issue 16's head start, `engine::chat::head_start`): the
//! upstream is asked before the commit ends, yet nothing of the reply reaches
//! the client before its `ack`, and the reply arrives whole.
//!
//! The commit is held back by a lock another connection takes on the database:
//! SQLite's write lock (`BEGIN IMMEDIATE`), or on PostgreSQL a table lock that
//! blocks the conversation's insert.

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Connection;

use crate::both_backends;
use crate::helpers::*;

both_backends!(the_model_is_asked_while_the_commit_waits);

/// A database connection holding the lock that keeps the exchange from committing.
enum WriteLock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl WriteLock {
    async fn take(b: Backend, url: &str) -> WriteLock {
        match b {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query("BEGIN IMMEDIATE").execute(&mut c).await.unwrap();
                WriteLock::Sqlite(c)
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query("BEGIN").execute(&mut c).await.unwrap();
                // Conflicts with an INSERT's ROW EXCLUSIVE lock; reads go on.
                sqlx::query("LOCK TABLE conversations IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut c)
                    .await
                    .unwrap();
                WriteLock::Postgres(c)
            }
        }
    }

    async fn release(self) {
        match self {
            WriteLock::Sqlite(mut c) => sqlx::query("ROLLBACK").execute(&mut c).await.map(drop).unwrap(),
            WriteLock::Postgres(mut c) => sqlx::query("ROLLBACK").execute(&mut c).await.map(drop).unwrap(),
        }
    }
}

async fn the_model_is_asked_while_the_commit_waits(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let mut ws = app.ws_authed(&token).await;
    // A conversation id made by the server, then one the client made (the AI
    // SDK's chat id) that names no conversation yet.
    for (i, session) in [None, Some("made-by-the-client")].into_iter().enumerate() {
        let asked_before = app.upstream().requests().len();
        let text = format!("a head start, please ({i})");
        let lock = WriteLock::take(b, app.db.url()).await;
        ws.send(json!({"type": "message", "message": text, "session_id": session, "client_id": format!("head-{i}")}))
            .await;
        let until = Instant::now() + Duration::from_secs(3);
        while app.upstream().requests().len() == asked_before && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let asked = app.upstream().requests().len() > asked_before;
        // Nothing may reach the client while the exchange is not stored.
        let early = ws.recv_within(Duration::from_millis(300)).await;
        lock.release().await;
        assert!(
            asked,
            "session {session:?}: the upstream was not asked while the commit waited"
        );
        assert!(
            early.is_none(),
            "session {session:?}: a frame before the commit: {early:?}"
        );
        let last = app.upstream().requests().last().cloned().unwrap();
        assert_eq!(
            last["messages"]
                .as_array()
                .and_then(|m| m.last())
                .map(|m| m["content"].clone()),
            Some(json!(text)),
            "the head start asks with the message: {last}"
        );

        // Once stored: the ack first, then the reply, whole.
        let first = ws.recv().await.expect("a frame after the commit");
        assert_eq!(first["type"], "ack", "the ack comes first: {first}");
        if let Some(s) = session {
            assert_eq!(first["session_id"], s);
        }
        let reply_id = first["reply_id"].as_str().unwrap().to_string();
        let got = ws.collect(&reply_id).await;
        let complete = got.complete.clone().expect("complete");
        assert_eq!(complete["metadata"]["finish_reason"], "stop", "{complete}");
        assert_eq!(got.text(), complete["response"].as_str().unwrap());
        assert!(!got.tokens.is_empty());
        assert_eq!(
            app.upstream().requests().len(),
            asked_before + 1,
            "one request: the reply took the head start's stream"
        );
        // What follows `complete` (`message_added`, `conversation_updated`).
        while ws.recv_within(Duration::from_millis(300)).await.is_some() {}
    }
}
