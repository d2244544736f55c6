//! `resume` replaces the connection's subscription to a reply and always
//! delivers `(after_seq, current]`, then live, then `complete` (contract §3.3,
//! Changes 2026-11-29), while the reply streams and after it finished. The HTTP
//! paths (SSE `after_seq`, long polling) answer exactly the asked range too.

use std::time::Duration;

use crate::helpers::*;
use crate::http_chat::read_sse;
use crate::{both_backends, sqlite_only};

both_backends!(resume_rewinds_while_the_reply_streams);
sqlite_only!(
    resume_replays_a_finished_reply_on_the_same_connection,
    http_paths_answer_exactly_the_asked_range
);

/// Token seqs in arrival order, up to and including `complete` of `reply_id`.
async fn seqs_until_complete(ws: &mut WsClient, reply_id: &str) -> (Vec<u64>, Value) {
    let mut seqs = Vec::new();
    loop {
        let f = ws.recv().await.expect("the connection stays open");
        if f["reply_id"] != reply_id {
            continue;
        }
        match f["type"].as_str() {
            Some("token") => seqs.push(f["seq"].as_u64().expect("a token has a seq")),
            Some("complete") => return (seqs, f),
            _ => {}
        }
    }
}

/// Nothing more of the reply is on its way: a `pong` comes before any token.
async fn nothing_more(ws: &mut WsClient, reply_id: &str) {
    ws.send(json!({"type": "ping", "ts": 7})).await;
    loop {
        let f = ws.recv().await.expect("pong");
        assert!(
            !(f["reply_id"] == reply_id && matches!(f["type"].as_str(), Some("token" | "complete"))),
            "no loop, no repeat: {f}"
        );
        if f["type"] == "pong" {
            return;
        }
    }
}

/// The scenario: while R is past seq 8, `resume` after 5 then after 0.
async fn resume_rewinds_while_the_reply_streams(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let slow = Behaviour::tokens(60).delay(Duration::ZERO, Duration::from_millis(20));
    let expected = slow.text();
    app.upstream().push(slow);
    let mut ws = app.ws_authed(&token).await;
    let ack = ws.message("long", None, None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    let mut live = Vec::new();
    while live.last().copied().unwrap_or(0) < 9 {
        let f = ws.recv().await.unwrap();
        if f["type"] == "token" {
            live.push(f["seq"].as_u64().unwrap());
        }
    }
    assert_eq!(live, (1..=9).collect::<Vec<_>>());
    ws.send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 5}))
        .await;
    ws.send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 0}))
        .await;
    let (seqs, complete) = seqs_until_complete(&mut ws, &reply_id).await;
    assert_eq!(complete["response"], expected.as_str());
    // Whatever the first resume sent before the second replaced it, the second
    // one's answer is every seq from 1, once, in order, then complete.
    let from = seqs.iter().rposition(|s| *s == 1).expect("seq 1 came again");
    assert_eq!(seqs[from..], (1..=60).collect::<Vec<_>>()[..], "{seqs:?}");
    // Before it: live tokens (from 10), then possibly the first resume's 6, 7, …
    let before = &seqs[..from];
    let rewind = before.iter().position(|s| *s == 6).unwrap_or(before.len());
    assert!(before[..rewind].iter().all(|s| *s >= 10), "{seqs:?}");
    assert!(before[rewind..].windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    nothing_more(&mut ws, &reply_id).await;

    // A second connection resuming after 5 gets 6.. exactly once.
    app.upstream()
        .push(Behaviour::tokens(30).delay(Duration::ZERO, Duration::from_millis(10)));
    let ack = ws
        .message("again", Some(ack["session_id"].as_str().unwrap()), None)
        .await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    let mut other = app.ws_authed(&token).await;
    other
        .send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 5}))
        .await;
    let (seqs, _) = seqs_until_complete(&mut other, &reply_id).await;
    assert_eq!(seqs, (6..=30).collect::<Vec<_>>());
    nothing_more(&mut other, &reply_id).await;
}

/// After R finished (log held), `resume` from 0 on the connection that streamed
/// it sends every token again, then `complete`; from 55, only 56….
async fn resume_replays_a_finished_reply_on_the_same_connection(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let reply = Behaviour::tokens(60);
    let expected = reply.text();
    app.upstream().push(reply);
    let mut ws = app.ws_authed(&token).await;
    let ack = ws.message("short", None, None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    let first = ws.collect(&reply_id).await;
    assert_eq!(first.seqs(), (1..=60).collect::<Vec<_>>());
    for _ in 0..2 {
        ws.send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 0}))
            .await;
        let again = ws.collect(&reply_id).await;
        assert_eq!(again.seqs(), (1..=60).collect::<Vec<_>>());
        assert_eq!(again.text(), expected);
        assert_eq!(again.response(), expected);
    }
    ws.send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 55}))
        .await;
    assert_eq!(ws.collect(&reply_id).await.seqs(), vec![56, 57, 58, 59, 60]);
    ws.send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 60}))
        .await;
    let none = ws.collect(&reply_id).await;
    assert!(none.tokens.is_empty(), "{:?}", none.seqs());
    assert_eq!(none.response(), expected);
    nothing_more(&mut ws, &reply_id).await;
}

/// SSE with `after_seq` and long polling hand out exactly what is asked, again
/// and again, also after the reply finished.
async fn http_paths_answer_exactly_the_asked_range(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    app.upstream().push(Behaviour::tokens(12));
    let mut ws = app.ws_authed(&token).await;
    let ack = ws.message("http", None, None).await;
    let reply = ack["reply_id"].as_str().unwrap().to_string();
    ws.collect(&reply).await;
    for after in [0u64, 7, 0, 12] {
        let r = app
            .http
            .get(app.url(&format!("/api/v1/chat/replies/{reply}/events?after_seq={after}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let events = read_sse(r, |e, _, _| e == "complete").await;
        let ids: Vec<String> = events.iter().filter_map(|e| e.1.clone()).collect();
        let mut want: Vec<String> = ((after + 1)..=12).map(|s| s.to_string()).collect();
        want.push("end".into());
        assert_eq!(ids, want, "SSE after {after}");
        let (s, p) = body(
            app.get(
                &format!("/api/v1/chat/replies/{reply}/poll?after_seq={after}&wait_ms=1000"),
                Some(&token),
            )
            .await,
        )
        .await;
        assert_eq!(s, 200, "{p}");
        let seqs: Vec<u64> = p["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs, ((after + 1)..=12).collect::<Vec<_>>(), "poll after {after}");
        assert_eq!(p["status"], "complete");
    }
}
