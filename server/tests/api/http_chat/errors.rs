//! Every error status and code of the HTTP chat (contract §4), one test per
//! cause, and refusals that must not cost the client anything.

use std::time::Duration;

use super::read_sse;
use crate::helpers::*;
use crate::sqlite_only;

sqlite_only!(
    bad_sends_on_both_paths,
    a_cookie_from_another_site_is_forbidden,
    a_full_queue_and_too_many_conversations,
    a_guest_over_its_quota,
    a_provider_failure_keeps_the_message,
    unknown_replies_paths_and_methods,
    refused_messages_do_not_use_up_the_rate_limit,
    stream_error_statuses
);

/// An app with short messages (100 characters) and a tiny guest quota (3 tokens a day).
async fn limited_app(b: Backend) -> Option<TestApp> {
    spawn_app(AppOptions::new(b).config(|c| {
        c.max_message_chars = 100;
        c.daily_tokens_guest = 3;
    }))
    .await
}

async fn bad_sends_on_both_paths(b: Backend) {
    let Some(app) = limited_app(b).await else { return };
    let token = app.user_token().await;
    let t = Some(token.as_str());
    for path in ["/api/v1/chat", "/api/v1/chat/messages"] {
        expect_error(app.post(path, t, json!({"message": "  "})).await, 400, "EMPTY_MESSAGE").await;
        expect_error(app.post(path, t, json!({"message": 3})).await, 400, "INVALID_FRAME").await;
        expect_error(app.post(path, t, json!({})).await, 400, "INVALID_FRAME").await;
        let r = app
            .http
            .post(app.url(path))
            .bearer_auth(&token)
            .body("{oops")
            .send()
            .await
            .unwrap();
        assert_error(&body(r).await, 400, "INVALID_JSON");
        expect_error(
            app.post(path, None, json!({"message": "hi"})).await,
            401,
            "AUTH_REQUIRED",
        )
        .await;
        expect_error(
            app.post(path, t, json!({"message": "x".repeat(101)})).await,
            413,
            "MESSAGE_TOO_LONG",
        )
        .await;
        expect_error(
            app.post(path, t, json!({"message": "hi", "session_id": "no spaces"}))
                .await,
            422,
            "VALIDATION_ERROR",
        )
        .await;
        expect_error(
            app.post(path, t, json!({"message": "hi", "bot_id": "unknown-bot"}))
                .await,
            404,
            "NOT_FOUND",
        )
        .await;
    }
}

/// 403: a session cookie without Brook's own `Origin`.
async fn a_cookie_from_another_site_is_forbidden(b: Backend) {
    let Some(app) = limited_app(b).await else { return };
    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "x@x.io", "password": "12345678"}),
        )
        .await;
    assert_eq!(r.status(), 401);
    let reg = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": "cookie@x.io", "password": "12345678"}),
        )
        .await;
    let cookie = reg
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let r = app
        .http
        .post(app.url("/api/v1/chat"))
        .header("cookie", cookie)
        .header("content-type", "application/json")
        .body(r#"{"message":"hi"}"#)
        .send()
        .await
        .unwrap();
    assert_error(&body(r).await, 403, "FORBIDDEN");
}

/// 409: the conversation's queue is full; then 429 `RATE_LIMITED` (five
/// conversations at once, the full one among them) with `Retry-After`.
async fn a_full_queue_and_too_many_conversations(b: Backend) {
    let Some(app) = limited_app(b).await else { return };
    let token = app.user_token().await;
    let t = Some(token.as_str());
    app.upstream()
        .set_default(Behaviour::tokens(50).delay(Duration::from_millis(500), Duration::from_millis(50)));
    let mut first_reply = None;
    for i in 0..5 {
        let (s, v) = body(
            app.post(
                "/api/v1/chat/messages",
                t,
                json!({"message": format!("m{i}"), "session_id": "full"}),
            )
            .await,
        )
        .await;
        assert_eq!(s, 202);
        first_reply.get_or_insert(v["reply_id"].clone());
    }
    let got = body(
        app.post(
            "/api/v1/chat/messages",
            t,
            json!({"message": "m5", "session_id": "full"}),
        )
        .await,
    )
    .await;
    assert_error(&got, 409, "REPLY_IN_PROGRESS");
    // With the running reply's id, as on the WebSocket.
    assert_eq!(Some(&got.1["reply_id"]), first_reply.as_ref(), "{}", got.1);
    for i in 0..3 {
        app.post(
            "/api/v1/chat/messages",
            t,
            json!({"message": "x", "session_id": format!("busy-{i}")}),
        )
        .await;
    }
    let r = app
        .post(
            "/api/v1/chat/messages",
            t,
            json!({"message": "x", "session_id": "busy-9"}),
        )
        .await;
    assert!(r.headers().get("retry-after").is_some());
    assert_error(&body(r).await, 429, "RATE_LIMITED");
}

/// 429 `QUOTA_EXCEEDED` for a guest over its daily tokens.
async fn a_guest_over_its_quota(b: Backend) {
    let Some(app) = limited_app(b).await else { return };
    app.upstream().set_default(Behaviour::tokens(5));
    let guest = body(app.post("/api/v1/auth/guest", None, json!({})).await).await.1["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = body(
        app.post("/api/v1/chat", Some(&guest), json!({"message": "spend"}))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let r = app.post("/api/v1/chat", Some(&guest), json!({"message": "more"})).await;
    assert!(r.headers().get("retry-after").is_some());
    assert_error(&body(r).await, 429, "QUOTA_EXCEEDED");
}

/// 502: the provider failed; the message stays stored.
async fn a_provider_failure_keeps_the_message(b: Backend) {
    let Some(app) = limited_app(b).await else { return };
    let other = app.user_token().await;
    app.upstream().push(Behaviour::status(400, None));
    let got = body(
        app.post(
            "/api/v1/chat",
            Some(&other),
            json!({"message": "fails", "session_id": "bad-upstream"}),
        )
        .await,
    )
    .await;
    assert_error(&got, 502, "UPSTREAM_ERROR");
    let (_, msgs) = body(
        app.get("/api/v1/conversations/bad-upstream/messages", Some(&other))
            .await,
    )
    .await;
    assert_eq!(msgs["messages"][0]["content"], "fails");
    assert_eq!(msgs["messages"][1]["status"], "error");
}

/// 404 for unknown replies on the GET streams; unknown paths and methods, a
/// malformed `session_id` and a missing field answer in JSON, as everywhere.
async fn unknown_replies_paths_and_methods(b: Backend) {
    let Some(app) = limited_app(b).await else { return };
    let other = app.user_token().await;
    for path in ["/api/v1/chat/replies/nope/events", "/api/v1/chat/replies/nope/poll"] {
        expect_error(app.get(path, Some(&other)).await, 404, "NOT_FOUND").await;
        expect_error(app.get(path, None).await, 401, "AUTH_REQUIRED").await;
    }
    expect_error(
        app.get("/api/v1/no-such-endpoint", Some(&other)).await,
        404,
        "NOT_FOUND",
    )
    .await;
    let r = app
        .http
        .put(app.url("/api/v1/conversations"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_error(&body(r).await, 405, "NOT_FOUND");
    expect_error(
        app.get("/api/v1/chat/events?session_id=a%2Fb", Some(&other)).await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    expect_error(
        app.post("/api/v1/bots", Some(&other), json!({})).await,
        400,
        "INVALID_FRAME",
    )
    .await;
}

async fn refused_messages_do_not_use_up_the_rate_limit(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b).config(|c| c.rate_limit_per_min = 6)).await else {
        return;
    };
    let t = app.user_token().await;
    app.upstream()
        .set_default(Behaviour::tokens(50).delay(Duration::from_millis(500), Duration::from_millis(50)));
    let send = |session: &'static str| {
        let app = &app;
        let t = t.clone();
        async move {
            body(
                app.post(
                    "/api/v1/chat/messages",
                    Some(&t),
                    json!({"message": "hi", "session_id": session}),
                )
                .await,
            )
            .await
        }
    };
    // One generating and four waiting fill the conversation's queue...
    for _ in 0..5 {
        assert_eq!(send("full").await.0, 202);
    }
    // ...so these two are refused, and nothing of theirs is stored.
    for _ in 0..2 {
        assert_error(&send("full").await, 409, "REPLY_IN_PROGRESS");
    }
    // Five messages were taken out of six a minute: one more is allowed.
    let (s, v) = send("another").await;
    assert_eq!(s, 202, "{v}");
    assert_error(&send("third").await, 429, "RATE_LIMITED");
}

async fn stream_error_statuses(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b).config(|c| c.max_message_chars = 100)).await else {
        return;
    };
    let token = app.user_token().await;
    let t = Some(token.as_str());
    let path = "/api/v1/chat/stream";
    expect_error(app.post(path, t, json!({"message": ""})).await, 400, "EMPTY_MESSAGE").await;
    expect_error(
        app.post(path, t, json!({"id": "c1", "messages": []})).await,
        400,
        "INVALID_FRAME",
    )
    .await;
    expect_error(
        app.post(path, t, json!({"id": "c1", "messages": "nope"})).await,
        400,
        "INVALID_FRAME",
    )
    .await;
    expect_error(app.post(path, t, json!({"id": "bad id", "messages": [{"id": "u", "role": "user", "parts": [{"type": "text", "text": "hi"}]}]})).await, 422, "VALIDATION_ERROR").await;
    expect_error(
        app.post(path, t, json!({"message": "y".repeat(101)})).await,
        413,
        "MESSAGE_TOO_LONG",
    )
    .await;
    expect_error(
        app.post(path, None, json!({"message": "hi"})).await,
        401,
        "AUTH_REQUIRED",
    )
    .await;
    let r = app
        .http
        .post(app.url(path))
        .bearer_auth(&token)
        .body("nope")
        .send()
        .await
        .unwrap();
    assert_error(&body(r).await, 400, "INVALID_JSON");
    // A failure after the stream began is an `error` chunk.
    app.upstream().push(Behaviour::tokens(6).cut_after(2));
    let r = app.post(path, t, json!({"message": "break"})).await;
    assert_eq!(r.status(), 200);
    let chunks = read_sse(r, |_, _, d| d == "[DONE]").await;
    let types: Vec<String> = chunks
        .iter()
        .filter_map(|(_, _, d)| serde_json::from_str::<Value>(d).ok())
        .map(|v| v["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, vec!["start", "text-start", "text-delta", "text-delta", "error"]);
}
