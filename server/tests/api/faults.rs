//! Issue 11 §6, the fault suite: each fault has a defined outcome with the
//! contract's error code, the server keeps running, and no acknowledged message
//! is lost. (`kill -9` mid-reply and SIGTERM are in `durability.rs`.)
//!
//! - every kind of upstream failure: refused, 500, 429 with `Retry-After`, a
//!   slow first token, a stall mid-stream, a malformed SSE line, an abrupt close;
//! - SQLite opened read-only, and SQLite on a disk that fills up (the real
//!   binary with `RLIMIT_FSIZE`: a tiny filesystem is not available here);
//! - PostgreSQL "restarted" under load: the server is shared by every test on
//!   this machine, so instead of restarting it the test ends every session of
//!   Brook's database (`pg_terminate_backend`), which is what Brook's pool sees
//!   when PostgreSQL restarts.

use std::collections::HashSet;
use std::time::Duration;

use crate::durability::{login, register, start, start_limited};
use crate::helpers::*;
use crate::sqlite_only;

sqlite_only!(every_upstream_failure_has_a_defined_outcome);

/// The texts a client may see for an upstream failure: Brook's own sentences,
/// never the provider's body (the fake upstream's bodies say "fake upstream").
fn assert_own_sentence(error: &Value) {
    let text = error["error"].as_str().unwrap_or_default();
    assert!(!text.is_empty(), "{error}");
    assert!(
        !text.contains("fake upstream") && !text.contains('{') && !text.contains("server_error"),
        "raw upstream text reached the client: {text}"
    );
}

async fn one_reply(app: &TestApp, token: &str, text: &str) -> (Collected, String) {
    let mut ws = app.ws_authed(token).await;
    let ack = ws.message(text, None, None).await;
    let c = ws.collect(ack["reply_id"].as_str().unwrap()).await;
    (c, ack["session_id"].as_str().unwrap().to_string())
}

async fn every_upstream_failure_has_a_defined_outcome(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b).config(|c| {
        c.upstream_first_token = Duration::from_secs(1);
        c.upstream_idle = Duration::from_secs(1);
    }))
    .await
    else {
        return;
    };
    let token = app.user_token().await;
    let retried = |b: Behaviour| vec![b.clone(), b.clone(), b]; // every attempt fails
    let kinds: Vec<(&str, Vec<Behaviour>, &str)> = vec![
        ("500", retried(Behaviour::status(500, None)), ""),
        ("429 with Retry-After", retried(Behaviour::status(429, Some(1))), ""),
        (
            "slow first token",
            vec![Behaviour::tokens(3).delay(Duration::from_secs(3), Duration::ZERO)],
            "",
        ),
        (
            "stall mid-stream",
            vec![Behaviour::tokens(5).delay(Duration::ZERO, Duration::from_secs(3))],
            "w1 ",
        ),
        (
            "malformed SSE line",
            vec![Behaviour::tokens(6).malformed_after(3)],
            "w1 w2 w3 ",
        ),
        ("abrupt close", vec![Behaviour::tokens(10).cut_after(4)], "w1 w2 w3 w4 "),
    ];
    for (kind, behaviours, partial) in kinds {
        for b in behaviours {
            app.upstream().push(b);
        }
        let text = format!("fault: {kind}");
        let (c, session) = one_reply(&app, &token, &text).await;
        assert_eq!(c.errors.len(), 1, "{kind}: {:?}", c.frames);
        assert_eq!(c.errors[0]["code"], "UPSTREAM_ERROR", "{kind}");
        assert_own_sentence(&c.errors[0]);
        let complete = c.complete.as_ref().unwrap();
        assert_eq!(complete["metadata"]["finish_reason"], "error", "{kind}");
        assert_eq!(c.response(), partial, "{kind}: the partial reply is kept");
        assert_eq!(c.text(), c.response(), "{kind}");
        // Stored: the user message, and the partial reply with status `error`.
        let (_, msgs) = body(
            app.get(&format!("/api/v1/conversations/{session}/messages"), Some(&token))
                .await,
        )
        .await;
        assert_eq!(msgs["messages"][0]["content"], text.as_str(), "{kind}");
        assert_eq!(msgs["messages"][1]["status"], "error", "{kind}");
        assert_eq!(msgs["messages"][1]["content"], partial, "{kind}");
        assert_eq!(app.get("/health", None).await.status(), 200);
    }
    // The same outcomes over plain HTTP: `502 UPSTREAM_ERROR`, Brook's sentence.
    app.upstream().push(Behaviour::tokens(10).cut_after(2));
    let (s, v) = body(app.post("/api/v1/chat", Some(&token), json!({"message": "http"})).await).await;
    assert_error(&(s, v.clone()), 502, "UPSTREAM_ERROR");
    assert_own_sentence(&v);

    // Refused: nothing listens at the provider's address.
    let (closed, _held) = closed_port();
    let Some(refused) = spawn_app(AppOptions::new(b).config(move |c| {
        c.openai_base_url = format!("http://127.0.0.1:{closed}/v1");
    }))
    .await
    else {
        return;
    };
    let token = refused.user_token().await;
    let (c, session) = one_reply(&refused, &token, "anyone?").await;
    assert_eq!(c.errors[0]["code"], "UPSTREAM_ERROR");
    assert_own_sentence(&c.errors[0]);
    assert_eq!(c.complete.unwrap()["metadata"]["finish_reason"], "error");
    let (_, msgs) = body(
        refused
            .get(&format!("/api/v1/conversations/{session}/messages"), Some(&token))
            .await,
    )
    .await;
    assert_eq!(msgs["messages"][0]["content"], "anyone?");
}

async fn post_message(addr: &str, token: &str, session: &str, text: &str, client_id: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/api/v1/chat/messages"))
        .bearer_auth(token)
        .json(&json!({"message": text, "session_id": session, "client_id": client_id}))
        .send()
        .await
        .unwrap();
    body(r).await
}

/// A conversation's messages, up to 200, oldest first.
async fn messages(addr: &str, token: &str, session: &str) -> Vec<Value> {
    let r = reqwest::Client::new()
        .get(format!(
            "http://{addr}/api/v1/conversations/{session}/messages?limit=200"
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let (s, v) = body(r).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["has_more"], false, "one page holds it all");
    v["messages"].as_array().unwrap().clone()
}

async fn health(addr: &str) -> u16 {
    reqwest::get(format!("http://{addr}/health"))
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// The user messages of a conversation, by `client_id`, each once.
fn client_ids(msgs: &[Value]) -> Vec<String> {
    msgs.iter()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["client_id"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_sqlite_refuses_writes_and_keeps_serving() {
    let db = testkit::db::TestDb::sqlite();
    let upstream = testkit::FakeUpstream::start().await;
    let mut brook = start(db.url(), &upstream, &[]).await;
    let token = register(&brook.addr).await;
    let (s, v) = post_message(&brook.addr, &token, "kept", "before", "c-0").await;
    assert_eq!(s, 202, "{v}");
    tokio::time::sleep(Duration::from_millis(300)).await; // its reply finishes
    brook.child.start_kill().unwrap();
    brook.child.wait().await.unwrap();

    // The same file, opened read-only (as on a read-only volume).
    let ro = format!("{}?mode=ro", db.url());
    let mut brook = start(&ro, &upstream, &[]).await;
    let token = login(&brook.addr).await;
    let before = messages(&brook.addr, &token, "kept").await;
    assert_eq!(before.len(), 2, "reads still work");
    let (s, v) = post_message(&brook.addr, &token, "kept", "refused", "c-1").await;
    assert_error(&(s, v), 503, "UNAVAILABLE");
    let mut ws = testkit::ws::WsClient::connect(&format!("ws://{}/ws/chat?token={token}", brook.addr))
        .await
        .unwrap();
    ws.recv().await.unwrap();
    ws.send(json!({"type": "message", "message": "refused too", "session_id": "kept", "client_id": "c-2"}))
        .await;
    let e = ws.recv_type("error").await;
    assert_eq!(e["code"], "UNAVAILABLE", "{e}");
    assert_eq!(health(&brook.addr).await, 200);
    assert_eq!(messages(&brook.addr, &token, "kept").await, before, "nothing changed");
    brook.child.start_kill().unwrap();
    brook.child.wait().await.unwrap();

    // Writable again: everything is there and Brook works.
    let brook = start(db.url(), &upstream, &[]).await;
    let token = login(&brook.addr).await;
    assert_eq!(client_ids(&messages(&brook.addr, &token, "kept").await), ["c-0"]);
    let (s, v) = post_message(&brook.addr, &token, "kept", "after", "c-3").await;
    assert_eq!(s, 202, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_and_loses_nothing() {
    let db = testkit::db::TestDb::sqlite();
    let upstream = testkit::FakeUpstream::start().await;
    // Migrate first, then run with room for roughly a megabyte more.
    let mut brook = start(db.url(), &upstream, &[]).await;
    register(&brook.addr).await;
    brook.child.start_kill().unwrap();
    brook.child.wait().await.unwrap();
    let mut brook = start_limited(db.url(), &upstream, &[], Some(1 << 20)).await;
    let token = login(&brook.addr).await;

    let big = "x".repeat(16_000);
    let mut acked = Vec::new();
    let mut refusal = None;
    for i in 0..400 {
        let cid = format!("c-{i}");
        let (s, v) = post_message(&brook.addr, &token, "full", &big, &cid).await;
        if s == 202 {
            acked.push(cid);
        } else {
            refusal = Some((s, v));
            break;
        }
    }
    let refusal = refusal.expect("the disk filled up");
    println!("disk full after {} acknowledged messages: {}", acked.len(), refusal.1);
    assert!(!acked.is_empty());
    assert_error(&refusal, 503, "UNAVAILABLE");
    // Still serving: health, reads, and for a later write either the same clear
    // refusal or, when SQLite found room again (a checkpoint resets the WAL,
    // whose file then takes writes without growing), an ack that must hold.
    assert_eq!(health(&brook.addr).await, 200);
    assert_eq!(client_ids(&messages(&brook.addr, &token, "full").await), acked);
    let (s, v) = post_message(&brook.addr, &token, "full", "one more", "late").await;
    if s == 202 {
        acked.push("late".to_string());
    } else {
        assert_error(&(s, v), 503, "UNAVAILABLE");
    }
    brook.child.start_kill().unwrap();
    brook.child.wait().await.unwrap();

    // With room again, every acknowledged message is there, each once.
    let brook = start(db.url(), &upstream, &[]).await;
    let token = login(&brook.addr).await;
    let msgs = messages(&brook.addr, &token, "full").await;
    let ids = client_ids(&msgs);
    assert_eq!(ids, acked, "no acknowledged message lost, none twice");
    let (s, v) = post_message(&brook.addr, &token, "full", "room again", "again").await;
    assert_eq!(s, 202, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sessions_killed_under_load_lose_nothing() {
    let Some(app) = app(Backend::Postgres).await else {
        return;
    };
    app.upstream()
        .set_default(Behaviour::tokens(5).delay(Duration::ZERO, Duration::from_millis(20)));
    let mut tokens = Vec::new();
    for _ in 0..10 {
        tokens.push(app.user_token().await);
    }
    let stop = tokio_util::sync::CancellationToken::new();
    let killer = {
        let stop = stop.clone();
        let db = &app.db;
        async move {
            let mut ended = 0;
            while !stop.is_cancelled() {
                ended += db.terminate_backends().await;
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            ended
        }
    };
    // Each client sends 10 messages; an error is retried with the same client_id.
    let clients = tokens.iter().enumerate().map(|(n, token)| {
        let app = &app;
        async move {
            let mut acked = Vec::new();
            let mut refusals = Vec::new();
            for i in 0..10 {
                let cid = format!("m-{n}-{i}");
                loop {
                    let r = app
                        .post(
                            "/api/v1/chat/messages",
                            Some(token),
                            json!({"message": format!("load {i}"), "session_id": "load", "client_id": cid}),
                        )
                        .await;
                    let (s, v) = body(r).await;
                    if s == 202 {
                        acked.push(cid.clone());
                        break;
                    }
                    refusals.push((s, v));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            (token.clone(), acked, refusals)
        }
    });
    let work = async {
        let r = futures::future::join_all(clients).await;
        stop.cancel();
        r
    };
    let (results, ended) = tokio::join!(work, killer);
    println!("terminated {ended} PostgreSQL sessions under load");
    assert!(ended > 0, "the fault happened");
    let mut refused = 0;
    for (token, acked, refusals) in results {
        for r in &refusals {
            // A storage fault is `503 UNAVAILABLE` (retry), or `409` for a reply still in line.
            assert!(
                (r.0 == 503 && r.1["code"] == "UNAVAILABLE") || (r.0 == 409 && r.1["code"] == "REPLY_IN_PROGRESS"),
                "{r:?}"
            );
        }
        refused += refusals.len();
        let (s, msgs) = body(
            app.get("/api/v1/conversations/load/messages?limit=200", Some(&token))
                .await,
        )
        .await;
        assert_eq!(s, 200, "{msgs}");
        let ids = client_ids(msgs["messages"].as_array().unwrap());
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "no duplicate");
        assert_eq!(ids, acked, "every acknowledged message, in order");
    }
    println!("{refused} requests refused while sessions were being ended");
    assert_eq!(app.get("/health", None).await.status(), 200);
    assert_eq!(app.get("/ready", None).await.status(), 200);
}
