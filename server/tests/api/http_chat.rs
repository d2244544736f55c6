//! The HTTP transports (contract §4): plain JSON, resumable SSE, long polling,
//! the live-event stream, and every error status and code.

use std::time::Duration;

use futures::StreamExt;

use crate::helpers::*;
use crate::{both_backends, sqlite_only};

both_backends!(plain_json_chat);
sqlite_only!(
    sse_resumes_with_last_event_id,
    long_polling_rebuilds_the_text,
    live_events_over_sse,
    stop_and_regenerate_over_http,
    json_error_statuses,
    stream_error_statuses,
    stream_headers,
    refused_messages_do_not_use_up_the_rate_limit
);

/// Reads raw SSE from a response until `stop(event, id, data)` says so or the stream ends.
pub async fn read_sse(
    r: reqwest::Response,
    mut stop: impl FnMut(&str, Option<&str>, &str) -> bool,
) -> Vec<(String, Option<String>, String)> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut body = r.bytes_stream();
    while let Ok(Some(chunk)) = tokio::time::timeout(Duration::from_secs(20), body.next()).await {
        let Ok(chunk) = chunk else { break };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(i) = buf.find("\n\n") {
            let block: String = buf.drain(..i + 2).collect();
            let (mut event, mut id, mut data) = ("message".to_string(), None, String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("id:") {
                    id = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            if data.is_empty() && id.is_none() {
                continue; // a heartbeat comment
            }
            let done = stop(&event, id.as_deref(), &data);
            out.push((event, id, data));
            if done {
                return out;
            }
        }
    }
    out
}

async fn plain_json_chat(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let (s, v) = body(
        app.post(
            "/api/v1/chat",
            Some(&token),
            json!({"message": "hello over http", "client_id": "h-1"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["response"], "w1 w2 w3 w4 w5 ");
    assert_eq!(v["metadata"]["finish_reason"], "stop");
    let session = v["session_id"].as_str().unwrap();
    let (_, msgs) = body(
        app.get(&format!("/api/v1/conversations/{session}/messages"), Some(&token))
            .await,
    )
    .await;
    assert_eq!(msgs["messages"][0]["id"], v["message_id"]);
    assert_eq!(msgs["messages"][1]["id"], v["reply_id"]);
    assert_eq!(msgs["messages"][1]["content"], v["response"]);
    // The same client_id again: the same answer, nothing new generated.
    let started = app.upstream().started();
    let (_, again) = body(
        app.post(
            "/api/v1/chat",
            Some(&token),
            json!({"message": "hello over http", "client_id": "h-1"}),
        )
        .await,
    )
    .await;
    assert_eq!(again["reply_id"], v["reply_id"]);
    assert_eq!(again["response"], v["response"]);
    assert_eq!(app.upstream().started(), started);
    // A client-chosen session id.
    let (s, v) = body(
        app.post(
            "/api/v1/chat",
            Some(&token),
            json!({"message": "x", "session_id": "my-http-chat"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["session_id"], "my-http-chat");
}

async fn sse_resumes_with_last_event_id(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let slow = Behaviour::tokens(40).delay(Duration::from_millis(100), Duration::from_millis(20));
    let expected = slow.text();
    app.upstream().push(slow);
    let (s, acc) = body(
        app.post("/api/v1/chat/messages", Some(&token), json!({"message": "stream it"}))
            .await,
    )
    .await;
    assert_eq!(s, 202, "{acc}");
    let reply = acc["reply_id"].as_str().unwrap();
    // First connection: cut after 10 tokens.
    let r = app
        .http
        .get(app.url(&format!("/api/v1/chat/replies/{reply}/events?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut n = 0;
    let first = read_sse(r, |e, _, _| {
        if e == "token" {
            n += 1;
        }
        n == 10
    })
    .await;
    let last_id = first.last().unwrap().1.clone().unwrap();
    assert_eq!(last_id, "10");
    // Reconnect as EventSource does, with Last-Event-ID.
    let r = app
        .http
        .get(app.url(&format!("/api/v1/chat/replies/{reply}/events")))
        .bearer_auth(&token)
        .header("Last-Event-ID", &last_id)
        .send()
        .await
        .unwrap();
    let rest = read_sse(r, |e, _, _| e == "complete").await;
    let mut text = String::new();
    let mut seqs = Vec::new();
    for (e, id, data) in first.iter().chain(rest.iter()) {
        if e == "token" {
            let f: Value = serde_json::from_str(data).unwrap();
            text.push_str(f["token"].as_str().unwrap());
            seqs.push(id.clone().unwrap().parse::<u64>().unwrap());
            assert_eq!(f["seq"].as_u64().unwrap(), seqs[seqs.len() - 1]);
        }
    }
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
    assert_eq!(text, expected);
    let (e, id, data) = rest.last().unwrap();
    assert_eq!(e, "complete");
    assert_eq!(id.as_deref(), Some("end"));
    assert_eq!(
        serde_json::from_str::<Value>(data).unwrap()["response"],
        expected.as_str()
    );
    // After the end, Last-Event-ID: end answers 204 so the browser stops.
    let r = app
        .http
        .get(app.url(&format!("/api/v1/chat/replies/{reply}/events")))
        .bearer_auth(&token)
        .header("Last-Event-ID", "end")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    // An explicit after_seq works too, and a finished reply replays then completes.
    let r = app
        .http
        .get(app.url(&format!("/api/v1/chat/replies/{reply}/events?after_seq=38")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let tail = read_sse(r, |e, _, _| e == "complete").await;
    let ids: Vec<Option<String>> = tail.iter().map(|t| t.1.clone()).collect();
    assert_eq!(ids, vec![Some("39".into()), Some("40".into()), Some("end".into())]);
}

async fn long_polling_rebuilds_the_text(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let slow = Behaviour::tokens(30).delay(Duration::from_millis(50), Duration::from_millis(40));
    let expected = slow.text();
    app.upstream().push(slow);
    let (_, acc) = body(
        app.post("/api/v1/chat/messages", Some(&token), json!({"message": "poll me"}))
            .await,
    )
    .await;
    let reply = acc["reply_id"].as_str().unwrap();
    let mut after = 0u64;
    let mut text = String::new();
    let mut polls = 0;
    let complete = loop {
        let (s, p) = body(
            app.get(
                &format!("/api/v1/chat/replies/{reply}/poll?after_seq={after}&wait_ms=2000&token={token}"),
                None,
            )
            .await,
        )
        .await;
        assert_eq!(s, 200, "{p}");
        polls += 1;
        for t in p["tokens"].as_array().unwrap() {
            assert_eq!(t["seq"].as_u64().unwrap(), after + 1, "no gap, no repeat");
            after += 1;
            text.push_str(t["token"].as_str().unwrap());
        }
        if !p["complete"].is_null() {
            assert_eq!(p["status"], "complete");
            break p["complete"].clone();
        }
        assert!(polls < 200);
    };
    assert!(polls >= 5, "the text arrived across {polls} polls");
    assert_eq!(text, expected);
    assert_eq!(complete["response"], expected.as_str());
    // A poll of a finished reply answers at once.
    let (_, p) = body(
        app.get(
            &format!("/api/v1/chat/replies/{reply}/poll?after_seq={after}&wait_ms=30000"),
            Some(&token),
        )
        .await,
    )
    .await;
    assert_eq!(p["status"], "complete");
    assert!(p["tokens"].as_array().unwrap().is_empty());
    expect_error(
        app.get(
            &format!("/api/v1/chat/replies/{reply}/poll?wait_ms=30001"),
            Some(&token),
        )
        .await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    expect_error(
        app.get(&format!("/api/v1/chat/replies/{reply}/poll?after_seq=-1"), Some(&token))
            .await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
}

async fn live_events_over_sse(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let (_, first) = body(
        app.post(
            "/api/v1/chat",
            Some(&token),
            json!({"message": "open", "session_id": "live"}),
        )
        .await,
    )
    .await;
    assert_eq!(first["session_id"], "live");
    let r = app
        .http
        .get(app.url(&format!("/api/v1/chat/events?session_id=live&token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let reader = tokio::spawn(read_sse(r, |e, _, _| e == "complete"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.upstream()
        .push(Behaviour::tokens(5).delay(Duration::from_millis(100), Duration::ZERO));
    let (s, _) = body(
        app.post(
            "/api/v1/chat/messages",
            Some(&token),
            json!({"message": "second", "session_id": "live"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 202);
    let events = reader.await.unwrap();
    let names: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    for want in [
        "message_added",
        "conversation_updated",
        "stream_start",
        "typing",
        "complete",
    ] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    assert!(!names.contains(&"token"), "tokens come from the reply's own stream");
    // A foreign or unknown conversation is NOT_FOUND.
    expect_error(
        app.get("/api/v1/chat/events?session_id=nope", Some(&token)).await,
        404,
        "NOT_FOUND",
    )
    .await;
}

async fn stop_and_regenerate_over_http(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    app.upstream()
        .push(Behaviour::tokens(500).delay(Duration::ZERO, Duration::from_millis(10)));
    let (_, acc) = body(
        app.post(
            "/api/v1/chat/messages",
            Some(&token),
            json!({"message": "long", "session_id": "st"}),
        )
        .await,
    )
    .await;
    let reply = acc["reply_id"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = app
        .post(&format!("/api/v1/chat/replies/{reply}/stop"), Some(&token), json!({}))
        .await;
    assert_eq!(r.status(), 204);
    let (_, p) = body(
        app.get(
            &format!("/api/v1/chat/replies/{reply}/poll?after_seq=0&wait_ms=5000"),
            Some(&token),
        )
        .await,
    )
    .await;
    let p = if p["complete"].is_null() {
        body(
            app.get(
                &format!("/api/v1/chat/replies/{reply}/poll?after_seq=100000&wait_ms=5000"),
                Some(&token),
            )
            .await,
        )
        .await
        .1
    } else {
        p
    };
    assert_eq!(p["status"], "stopped");
    assert_eq!(p["complete"]["metadata"]["finish_reason"], "stopped");
    let (s, regen) = body(
        app.post("/api/v1/chat/regenerate", Some(&token), json!({"session_id": "st"}))
            .await,
    )
    .await;
    assert_eq!(s, 202, "{regen}");
    assert_eq!(regen["session_id"], "st");
    assert_ne!(regen["reply_id"], acc["reply_id"]);
    expect_error(
        app.post("/api/v1/chat/regenerate", Some(&token), json!({"session_id": "nope"}))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    expect_error(
        app.post("/api/v1/chat/replies/unknown/stop", Some(&token), json!({}))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
}

async fn json_error_statuses(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b).config(|c| {
        c.max_message_chars = 100;
        c.daily_tokens_guest = 3;
    }))
    .await
    else {
        return;
    };
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
    // 403: cookie without our Origin.
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
    // 409: the conversation's queue is full.
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
    // 429 RATE_LIMITED (five conversations at once) with Retry-After.
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
    app.upstream().set_default(Behaviour::tokens(5));
    // 429 QUOTA_EXCEEDED for a guest over its daily tokens.
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
    // 502: the provider failed (the message stays stored).
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
    // 404 for unknown replies on the GET streams.
    for path in ["/api/v1/chat/replies/nope/events", "/api/v1/chat/replies/nope/poll"] {
        expect_error(app.get(path, Some(&other)).await, 404, "NOT_FOUND").await;
        expect_error(app.get(path, None).await, 401, "AUTH_REQUIRED").await;
    }
    // Paths and methods the API does not have answer in JSON too.
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
    // A malformed session_id is a 422, here as everywhere.
    expect_error(
        app.get("/api/v1/chat/events?session_id=a%2Fb", Some(&other)).await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    // A missing required field is a 400 INVALID_FRAME, here as everywhere.
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

async fn stream_headers(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let (_, acc) = body(
        app.post("/api/v1/chat/messages", Some(&token), json!({"message": "h"}))
            .await,
    )
    .await;
    let reply = acc["reply_id"].as_str().unwrap();
    let urls = [
        format!("/api/v1/chat/replies/{reply}/events?token={token}"),
        format!("/api/v1/chat/events?token={token}"),
    ];
    for u in urls {
        let r = app.http.get(app.url(&u)).send().await.unwrap();
        assert_eq!(r.headers()["cache-control"], "no-cache", "{u}");
        assert_eq!(r.headers()["x-accel-buffering"], "no", "{u}");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
    }
    let r = app
        .post("/api/v1/chat/stream", Some(&token), json!({"message": "h"}))
        .await;
    assert_eq!(r.headers()["x-vercel-ai-ui-message-stream"], "v1");
    assert_eq!(r.headers()["x-accel-buffering"], "no");
    assert_eq!(r.headers()["cache-control"], "no-cache");
    // The diagnostics page is served.
    let r = app.get("/ws/test", None).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Brook connection test"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text() {
    let Some(app) = app(Backend::Sqlite).await else { return };
    let token = app.user_token().await;
    let (s, _) = body(
        app.post("/api/v1/chat", Some(&token), json!({"message": "count me"}))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let r = app.get("/metrics", None).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = r.text().await.unwrap();
    assert!(text.contains("# TYPE brook_messages_total counter"), "{text}");
    assert!(text.contains("brook_messages_total 1"), "{text}");
    assert!(
        text.contains("brook_replies_finished_total{finish_reason=\"stop\"} 1"),
        "{text}"
    );
    assert!(text.contains("brook_tokens_total 5"), "{text}");
}
