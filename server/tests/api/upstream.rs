//! The model provider over the real async-openai client, against the fake upstream.

use std::time::Duration;

use crate::helpers::*;
use crate::{both_backends, sqlite_only};

both_backends!(
    upstream_failure_keeps_partial_text,
    a_new_conversation_is_its_message_then_the_history
);
sqlite_only!(
    retries_before_the_first_token,
    errors_that_are_not_retried,
    timeouts,
    context_budget_and_bot_settings,
    demo_model
);

async fn send(app: &TestApp, token: &str, text: &str) -> (Collected, String, String) {
    let mut ws = app.ws_authed(token).await;
    let ack = ws.message(text, None, None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    let c = ws.collect(&reply_id).await;
    (c, ack["session_id"].as_str().unwrap().to_string(), reply_id)
}

async fn retries_before_the_first_token(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    app.upstream().push(Behaviour::status(500, None));
    app.upstream().push(Behaviour::status(429, Some(1)));
    app.upstream().push(Behaviour::tokens(4));
    let (c, _, _) = send(&app, &token, "try hard").await;
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert_eq!(c.response(), "w1 w2 w3 w4 ");
    assert_eq!(app.upstream().started(), 3, "two retries, then success");
    // A connection that breaks before any token is retried too.
    app.upstream().push(Behaviour::tokens(3).cut_after(0));
    app.upstream().push(Behaviour::tokens(3));
    let (c, _, _) = send(&app, &token, "again").await;
    assert_eq!(c.response(), "w1 w2 w3 ");
    // Three failures in a row give up with UPSTREAM_ERROR.
    for _ in 0..3 {
        app.upstream().push(Behaviour::status(503, None));
    }
    let (c, _, _) = send(&app, &token, "hopeless").await;
    assert_eq!(c.errors[0]["code"], "UPSTREAM_ERROR");
    assert_eq!(c.complete.unwrap()["metadata"]["finish_reason"], "error");
}

async fn errors_that_are_not_retried(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    app.upstream().push(Behaviour::status(401, None));
    let before = app.upstream().started();
    let (c, session, _) = send(&app, &token, "bad key").await;
    assert_eq!(app.upstream().started(), before + 1, "a 401 is not retried");
    assert_eq!(c.errors.len(), 1);
    assert_eq!(c.errors[0]["code"], "UPSTREAM_ERROR");
    // The order: stream_start, then error, then complete(error), then typing false.
    let types: Vec<&str> = c.frames.iter().map(|f| f["type"].as_str().unwrap()).collect();
    let start = types.iter().position(|t| *t == "stream_start").unwrap();
    let err = types.iter().position(|t| *t == "error").unwrap();
    let complete = types.iter().position(|t| *t == "complete").unwrap();
    assert!(start < err && err < complete, "{types:?}");
    // The user message stays stored.
    let (_, msgs) = body(
        app.get(&format!("/api/v1/conversations/{session}/messages"), Some(&token))
            .await,
    )
    .await;
    assert_eq!(msgs["messages"][0]["content"], "bad key");
    assert_eq!(msgs["messages"][1]["status"], "error");
    // A malformed line mid-stream is an upstream error that keeps the text so far.
    app.upstream().push(Behaviour::tokens(6).malformed_after(3));
    let (c, _, _) = send(&app, &token, "garbled").await;
    assert_eq!(c.errors[0]["code"], "UPSTREAM_ERROR");
    assert_eq!(c.response(), "w1 w2 w3 ");
    assert_eq!(c.text(), c.response());
}

async fn upstream_failure_keeps_partial_text(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    for behaviour in [
        Behaviour::tokens(10).cut_after(4),
        Behaviour::tokens(10).truncate_after(4),
    ] {
        app.upstream().push(behaviour);
        let (c, session, reply_id) = send(&app, &token, "cut me off").await;
        assert_eq!(c.errors.len(), 1, "{:?}", c.frames);
        assert_eq!(c.errors[0]["code"], "UPSTREAM_ERROR");
        assert_eq!(c.errors[0]["reply_id"], reply_id.as_str());
        let complete = c.complete.clone().unwrap();
        assert_eq!(complete["metadata"]["finish_reason"], "error");
        assert_eq!(complete["response"], "w1 w2 w3 w4 ");
        assert_eq!(c.text(), "w1 w2 w3 w4 ");
        let (_, msgs) = body(
            app.get(&format!("/api/v1/conversations/{session}/messages"), Some(&token))
                .await,
        )
        .await;
        assert_eq!(msgs["messages"][1]["content"], "w1 w2 w3 w4 ");
        assert_eq!(msgs["messages"][1]["status"], "error");
        assert_eq!(msgs["messages"][1]["metadata"]["finish_reason"], "error");
    }
}

async fn timeouts(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b).config(|c| {
        c.upstream_first_token = Duration::from_secs(1);
        c.upstream_idle = Duration::from_secs(1);
    }))
    .await
    else {
        return;
    };
    let token = app.user_token().await;
    app.upstream().push(Behaviour::hang());
    let (c, _, _) = send(&app, &token, "anyone there?").await;
    assert_eq!(c.errors[0]["code"], "UPSTREAM_ERROR");
    assert!(
        c.errors[0]["error"].as_str().unwrap().contains("did not answer"),
        "{}",
        c.errors[0]
    );
    assert_eq!(c.complete.unwrap()["metadata"]["finish_reason"], "error");
    // A stream that stalls between tokens.
    app.upstream()
        .push(Behaviour::tokens(3).delay(Duration::ZERO, Duration::from_secs(3)));
    let (c, _, _) = send(&app, &token, "stall").await;
    assert_eq!(c.errors[0]["code"], "UPSTREAM_ERROR");
    assert_eq!(c.response(), "w1 ");
    // The hung requests were abandoned, not left running.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.upstream().disconnects() >= 2);
}

async fn context_budget_and_bot_settings(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b).config(|c| {
        c.context_tokens = 60;
        c.models = vec!["gpt-4o-mini".into(), "tiny-model".into()];
    }))
    .await
    else {
        return;
    };
    let token = app.user_token().await;
    let (_, bot) = body(
        app.post("/api/v1/bots", Some(&token), json!({"name": "Pirate", "system_prompt": "Talk like a pirate.", "model": "tiny-model", "temperature": 1.5}))
            .await,
    )
    .await;
    let mut ws = app.ws_authed(&token).await;
    for i in 0..6 {
        ws.send(json!({"type": "message", "message": format!("question number {i} {}", "padding ".repeat(10)), "session_id": "ctx", "bot_id": bot["id"]})).await;
        let ack = ws.recv_type("ack").await;
        ws.collect(ack["reply_id"].as_str().unwrap()).await;
    }
    let last = app.upstream().requests().pop().unwrap();
    assert_eq!(last["model"], "tiny-model");
    assert!((last["temperature"].as_f64().unwrap() - 1.5).abs() < 1e-6);
    assert_eq!(last["stream_options"]["include_usage"], true);
    let msgs = last["messages"].as_array().unwrap();
    assert_eq!(msgs[0]["role"], "system");
    assert_eq!(msgs[0]["content"], "Talk like a pirate.");
    assert!(msgs.len() < 12, "history was trimmed to the budget: {}", msgs.len());
    assert!(
        msgs.last().unwrap()["content"]
            .as_str()
            .unwrap()
            .starts_with("question number 5"),
        "newest kept"
    );
}

/// The first message of a conversation is sent without reading the history
/// back (issue 16): the model gets the same messages as from a read, and the
/// next message of the conversation gets the whole history.
async fn a_new_conversation_is_its_message_then_the_history(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b)).await else {
        return;
    };
    let token = app.user_token().await;
    let (_, bot) = body(
        app.post(
            "/api/v1/bots",
            Some(&token),
            json!({"name": "Terse", "system_prompt": "Be brief."}),
        )
        .await,
    )
    .await;
    let mut ws = app.ws_authed(&token).await;
    for (i, text) in ["first question", "second question"].iter().enumerate() {
        ws.send(json!({"type": "message", "message": text, "session_id": "fresh-then-old", "bot_id": bot["id"]}))
            .await;
        let ack = ws.recv_type("ack").await;
        ws.collect(ack["reply_id"].as_str().unwrap()).await;
        let sent = app.upstream().requests().pop().unwrap();
        let roles: Vec<&str> = sent["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        let last = &sent["messages"].as_array().unwrap().last().unwrap()["content"];
        assert_eq!(last, text, "message {i}");
        match i {
            0 => assert_eq!(roles, ["system", "user"], "{sent}"),
            _ => {
                assert_eq!(roles, ["system", "user", "assistant", "user"], "{sent}");
                assert_eq!(sent["messages"][1]["content"], "first question");
            }
        }
    }
}

async fn demo_model(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b).demo()).await else {
        return;
    };
    let token = app.user_token().await;
    let (c, _, _) = send(&app, &token, "hello demo").await;
    assert_eq!(c.response(), engine::provider::demo::demo_reply("hello demo"));
    assert!(c.tokens.len() > 20);
    assert_eq!(c.complete.unwrap()["metadata"]["model"], "demo");
}
