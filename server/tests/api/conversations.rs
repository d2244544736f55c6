//! Conversations: paging, search, rename, delete, validation (contract §4, §5).

use crate::authz::chat_once;
use crate::both_backends;
use crate::helpers::*;
use engine::store::{ExchangeOutcome, NewExchange};

both_backends!(
    message_paging_is_exact,
    conversation_paging_and_search,
    rename_and_delete,
    bad_parameters
);

/// Stores `n` exchanges straight through the store (fast), returning ids in order.
async fn seed_exchanges(app: &TestApp, owner: &str, session: &str, n: usize) -> Vec<String> {
    let bot = engine::accounts::ensure_default_bot(app.engine.store().as_ref(), owner, "gpt-4o-mini")
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let x = NewExchange {
            owner_id: owner.into(),
            conversation_id: session.into(),
            bot_id: bot.id.clone(),
            requested_bot_id: None,
            title: "seeded".into(),
            user_message_id: engine::ids::new_id(),
            reply_id: engine::ids::new_id(),
            content: format!("message {i}"),
            client_id: None,
            preview: format!("message {i}"),
            now: engine::time::now_micros(),
        };
        match app.engine.store().begin_exchange(&x).await.unwrap() {
            ExchangeOutcome::Stored { user, reply, .. } => {
                ids.push(user.id);
                ids.push(reply.id);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    ids
}

async fn message_paging_is_exact(b: Backend) {
    let Some(app) = app(b).await else { return };
    let (token, owner) = app.register("pager@example.com").await;
    let expected = seed_exchanges(&app, &owner, "long-one", 125).await;
    assert_eq!(expected.len(), 250);
    let mut seen: Vec<String> = Vec::new();
    let mut before: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &before {
            Some(b) => format!("/api/v1/conversations/long-one/messages?limit=40&before={b}"),
            None => "/api/v1/conversations/long-one/messages?limit=40".to_string(),
        };
        let (s, page) = body(app.get(&path, Some(&token)).await).await;
        assert_eq!(s, 200, "{page}");
        let ids: Vec<String> = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect();
        pages += 1;
        // Oldest first within the page; pages go backwards.
        let mut merged = ids.clone();
        merged.extend(seen);
        seen = merged;
        if page["has_more"] == false {
            break;
        }
        before = ids.first().cloned();
        assert!(pages < 20, "paging does not end");
    }
    assert_eq!(pages, 7);
    assert_eq!(seen, expected, "every message exactly once, in order");
}

async fn conversation_paging_and_search(b: Backend) {
    let Some(app) = app(b).await else { return };
    let (token, owner) = app.register("lists@example.com").await;
    for i in 0..25 {
        seed_exchanges(&app, &owner, &format!("c-{i:02}"), 1).await;
    }
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/conversations?limit=10&cursor={c}"),
            None => "/api/v1/conversations?limit=10".into(),
        };
        let (s, page) = body(app.get(&path, Some(&token)).await).await;
        assert_eq!(s, 200, "{page}");
        for c in page["conversations"].as_array().unwrap() {
            all.push((
                c["updated_at"].as_str().unwrap().to_string(),
                c["id"].as_str().unwrap().to_string(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(all.len(), 25);
    let mut ids: Vec<_> = all.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(ids[0], "c-24", "newest activity first");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 25, "no conversation twice");

    // Search finds words in message text (and titles), with search syntax treated as text.
    let (session, _, _) = chat_once(&app, &token, "Where do zebras sleep at night?", None).await;
    for q in ["zebras", "ZEBRAS", "zebr", "\"zebras*", "sleep zebras"] {
        let (s, found) = body(
            app.get(&format!("/api/v1/conversations?q={}", urlencode(q)), Some(&token))
                .await,
        )
        .await;
        assert_eq!(s, 200, "{q}: {found}");
        let hits: Vec<&str> = found["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(hits, vec![session.as_str()], "{q}");
    }
    let (_, none) = body(app.get("/api/v1/conversations?q=platypus", Some(&token)).await).await;
    assert!(none["conversations"].as_array().unwrap().is_empty());
    // The fake upstream's reply text ("w1 w2 …") is searchable too.
    let (_, replies) = body(app.get("/api/v1/conversations?q=w3", Some(&token)).await).await;
    assert!(!replies["conversations"].as_array().unwrap().is_empty());
    // Another user's words are not found.
    let other = app.user_token().await;
    let (_, theirs) = body(app.get("/api/v1/conversations?q=zebras", Some(&other)).await).await;
    assert!(theirs["conversations"].as_array().unwrap().is_empty());
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn rename_and_delete(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let (session, user_msg, _) = chat_once(&app, &token, "first words of the chat", None).await;
    let (_, c) = body(app.get(&format!("/api/v1/conversations/{session}"), Some(&token)).await).await;
    assert_eq!(c["title"], "first words of the chat");
    assert!(c["last_message_preview"].as_str().is_some());
    let (s, renamed) = body(
        app.patch(
            &format!("/api/v1/conversations/{session}"),
            Some(&token),
            json!({"title": "  Renamed  "}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(renamed["title"], "Renamed");
    let r = app
        .delete(&format!("/api/v1/conversations/{session}"), Some(&token))
        .await;
    assert_eq!(r.status(), 204);
    expect_error(
        app.get(&format!("/api/v1/conversations/{session}"), Some(&token)).await,
        404,
        "NOT_FOUND",
    )
    .await;
    // Its messages went with it.
    assert!(app.engine.store().message(&user_msg).await.unwrap().is_none());
    expect_error(
        app.delete(&format!("/api/v1/conversations/{session}"), Some(&token))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
}

async fn bad_parameters(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let (session, _, _) = chat_once(&app, &token, "hello", None).await;
    let t = Some(token.as_str());
    for path in [
        "/api/v1/conversations?limit=-1",
        "/api/v1/conversations?limit=0",
        "/api/v1/conversations?limit=abc",
        "/api/v1/conversations?limit=100000",
        "/api/v1/conversations?cursor=not-a-cursor",
        "/api/v1/conversations?cursor=%%%",
    ] {
        let got = body(app.get(path, t).await).await;
        assert_eq!(got.0, 422, "{path}: {}", got.1);
        assert!(got.1["error"].as_str().is_some());
    }
    let long_q = format!("/api/v1/conversations?q={}", "a".repeat(300));
    expect_error(app.get(&long_q, t).await, 422, "VALIDATION_ERROR").await;
    expect_error(
        app.get(&format!("/api/v1/conversations/{session}/messages?limit=-5"), t)
            .await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    expect_error(
        app.get(&format!("/api/v1/conversations/{session}/messages?before=nope"), t)
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    expect_error(app.get("/api/v1/conversations/unknown-id", t).await, 404, "NOT_FOUND").await;
    expect_error(
        app.get("/api/v1/conversations/bad%20id", t).await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    let huge = "t".repeat(100 * 1024);
    expect_error(
        app.patch(&format!("/api/v1/conversations/{session}"), t, json!({"title": huge}))
            .await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    expect_error(
        app.patch(&format!("/api/v1/conversations/{session}"), t, json!({"title": ""}))
            .await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    expect_error(
        app.patch(&format!("/api/v1/conversations/{session}"), t, json!({"title": 7}))
            .await,
        400,
        "INVALID_FRAME",
    )
    .await;
    expect_error(
        app.patch(&format!("/api/v1/conversations/{session}"), t, json!({}))
            .await,
        400,
        "INVALID_FRAME",
    )
    .await;
    // The conversation is untouched and the server still answers.
    let (_, c) = body(app.get(&format!("/api/v1/conversations/{session}"), t).await).await;
    assert_eq!(c["title"], "hello");
}
