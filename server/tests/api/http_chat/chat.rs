//! Chatting over plain HTTP: a JSON answer, long polling, stop and regenerate.

use std::time::Duration;

use crate::helpers::*;
use crate::{both_backends, sqlite_only};

both_backends!(plain_json_chat);
sqlite_only!(long_polling_rebuilds_the_text, stop_and_regenerate_over_http);

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
