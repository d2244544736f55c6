//! The invariants of contract §3.3 over many random replies, and the limits
//! that protect everyone else: a slow consumer and a runaway reply.

use std::time::Duration;

use rand::Rng;

use super::{random_pieces, stored};
use crate::both_backends;
use crate::helpers::*;

both_backends!(invariants_on_many_replies);

async fn invariants_on_many_replies(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let mut rng = rand::rng();
    let mut sender = app.ws_authed(&token).await;
    for round in 0..12 {
        let count = rng.random_range(1..150);
        let pieces = random_pieces(&mut rng, count);
        let expected: String = pieces.concat();
        app.upstream().push(Behaviour::pieces(pieces));
        let session = format!("inv-{round}");
        let ack = sender.message(&format!("round {round}"), Some(&session), None).await;
        let reply_id = ack["reply_id"].as_str().unwrap().to_string();
        // A third subscriber resumes from a random point while the reply runs.
        let cut: u64 = rng.random_range(0..5);
        let mut resumer = app.ws_authed(&token).await;
        resumer
            .send(json!({"type": "resume", "reply_id": reply_id, "after_seq": cut}))
            .await;
        let seen = sender.collect(&reply_id).await;
        let resumed = resumer.collect(&reply_id).await;
        // Every seq exactly once, in order, no gaps.
        let n = seen.tokens.len() as u64;
        assert_eq!(seen.seqs(), (1..=n).collect::<Vec<_>>(), "round {round}");
        assert_eq!(seen.text(), seen.response(), "round {round}");
        assert_eq!(seen.response(), expected, "round {round}");
        let from = cut.min(n);
        assert_eq!(
            resumed.seqs(),
            ((from + 1)..=n).collect::<Vec<_>>(),
            "resumer, round {round}"
        );
        let tail: String = seen
            .tokens
            .iter()
            .filter(|(s, _)| *s > cut)
            .map(|(_, t)| t.as_str())
            .collect();
        assert_eq!(resumed.text(), tail);
        assert_eq!(resumed.response(), expected);
        let m = stored(&app, &token, &session, &reply_id).await;
        assert_eq!(m["content"], expected.as_str(), "stored text, round {round}");
        assert_eq!(m["status"], "complete");
        assert_eq!(m["metadata"]["seq"], n);
        // The contract's order for the sender.
        let types: Vec<&str> = seen
            .frames
            .iter()
            .map(|f| f["type"].as_str().unwrap())
            .filter(|t| *t != "conversation_updated")
            .collect();
        let before_tokens: Vec<&str> = types.iter().take_while(|t| **t != "token").copied().collect();
        assert_eq!(
            before_tokens,
            vec!["progress", "typing", "stream_start", "progress"],
            "round {round}"
        );
        resumer.close().await;
    }
    // Metadata as the contract shapes it.
    let ack = sender.message("meta", None, None).await;
    let c = sender.collect(ack["reply_id"].as_str().unwrap()).await;
    let meta = &c.complete.unwrap()["metadata"];
    for key in ["agent", "model", "finish_reason", "usage", "ttft_ms", "duration_ms"] {
        assert!(!meta[key].is_null(), "metadata.{key} in {meta}");
    }
    assert_eq!(meta["usage"]["prompt_tokens"], 7, "usage comes from the upstream");
    assert_eq!(meta["agent"], "Assistant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_closed_with_1013_and_slows_nobody() {
    // 2.4 MB: more than the socket buffers hold, so the silent reader stalls.
    let opts = AppOptions::new(Backend::Sqlite).config(|c| c.max_reply_bytes = 8 << 20);
    let Some(app) = spawn_app(opts).await else { return };
    let pieces: Vec<String> = (0..60_000)
        .map(|i| format!("token number {i} with some padding text "))
        .collect();
    let expected: String = pieces.concat();
    app.upstream().push(Behaviour::pieces(pieces));
    let token = app.user_token().await;
    let mut slow = app.ws_authed(&token).await;
    let ack = slow.message("flood me", Some("flood"), None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    // A second reader of the same reply keeps up the whole way.
    let mut fast = app.ws_authed(&token).await;
    fast.send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 0}))
        .await;
    let seen = fast.collect(&reply_id).await;
    assert_eq!(seen.response(), expected);
    assert_eq!(seen.seqs().len(), 60_000);
    // The one that never read is cut off once its queue stays full for 5 s,
    // and told to resume.
    tokio::time::sleep(Duration::from_secs(7)).await;
    while slow.recv_within(std::time::Duration::from_secs(5)).await.is_some() {}
    assert_eq!(slow.closed, Some(1013));
    let (_, msgs) = body(app.get("/api/v1/conversations/flood/messages", Some(&token)).await).await;
    assert_eq!(msgs["messages"][1]["content"], expected.as_str());
}

#[tokio::test]
async fn a_runaway_reply_is_cut_off_at_the_size_cap() {
    let opts = AppOptions::new(Backend::Sqlite).config(|c| c.max_reply_bytes = 1000);
    let Some(app) = spawn_app(opts).await else { return };
    app.upstream()
        .push(Behaviour::pieces((0..500).map(|i| format!("word{i} ")).collect()));
    let token = app.user_token().await;
    let mut ws = app.ws_authed(&token).await;
    let ack = ws.message("never stop", Some("runaway"), None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    let seen = ws.collect(&reply_id).await;
    let complete = seen.complete.clone().unwrap();
    assert_eq!(complete["metadata"]["finish_reason"], "length");
    let text = complete["response"].as_str().unwrap();
    assert!(
        text.len() >= 1000 && text.len() < 1100,
        "cut near the cap, got {} bytes",
        text.len()
    );
    assert_eq!(seen.response(), text);
    let (_, msgs) = body(app.get("/api/v1/conversations/runaway/messages", Some(&token)).await).await;
    assert_eq!(msgs["messages"][1]["content"], text);
    // The server is fine afterwards.
    app.upstream().push(Behaviour::pieces(vec!["ok".into()]));
    let ack = ws.message("again", Some("runaway"), None).await;
    let again = ws.collect(ack["reply_id"].as_str().unwrap()).await;
    assert_eq!(again.response(), "ok");
}
