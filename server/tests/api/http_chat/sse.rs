//! Server-sent events: a reply resumed with `Last-Event-ID`, and the live-event stream.

use std::time::Duration;

use super::read_sse;
use crate::helpers::*;
use crate::sqlite_only;

sqlite_only!(sse_resumes_with_last_event_id, live_events_over_sse);

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
