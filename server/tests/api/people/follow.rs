//! The owner follows a visitor's reply token by token (decisions.md, issue 14:
//! `resume` by the bot's owner): over the WebSocket while it streams and
//! after it finished, and over SSE; nobody else may, and following is all
//! the owner may do with it (`stop` stays the visitor's).

use std::time::Duration;

use super::{cast, Cast};
use crate::both_backends;
use crate::helpers::*;

both_backends!(owner_follows_a_visitor_reply, only_the_bot_owner_may_follow);

/// A visitor's slow reply in conversation `s1`: its `reply_id`, and the visitor's socket.
async fn visitor_reply(app: &TestApp, c: &Cast, tokens: usize) -> (String, WsClient) {
    app.upstream()
        .push(Behaviour::tokens(tokens).delay(Duration::ZERO, Duration::from_millis(15)));
    let mut ws = app.ws_authed(&c.visitor).await;
    let ack = ws.message("Where is my parcel?", Some("s1"), None).await;
    let reply_id = ack["reply_id"].as_str().expect("an AI reply").to_string();
    ws.recv_type("token").await;
    (reply_id, ws)
}

async fn owner_follows_a_visitor_reply(b: Backend) {
    let Some(app) = app(b).await else { return };
    let c = cast(&app).await;
    let (reply_id, mut visitor) = visitor_reply(&app, &c, 60).await;

    // Mid-stream, from the start: every seq once, in order, then complete.
    let mut owner = app.ws_authed(&c.owner).await;
    owner
        .send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 0}))
        .await;
    let live = owner.collect(&reply_id).await;
    assert!(live.errors.is_empty(), "{:?}", live.errors);
    assert_eq!(live.seqs(), (1..=60).collect::<Vec<u64>>());
    assert_eq!(live.text(), live.response());
    assert_eq!(live.response(), Behaviour::tokens(60).text());
    let theirs = visitor.collect(&reply_id).await;
    assert_eq!(theirs.response(), live.response());

    // Finished: the rest from a seq, or complete alone once the log is gone.
    owner
        .send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 50}))
        .await;
    let again = owner.collect(&reply_id).await;
    assert!(again.seqs().iter().all(|s| *s > 50), "{:?}", again.seqs());
    assert_eq!(again.response(), live.response());

    // Over SSE (the fallback the inbox's client takes without WebSockets).
    let r = app
        .get(&format!("/api/v1/chat/replies/{reply_id}/events"), Some(&c.owner))
        .await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.contains("event: complete"), "{text}");
}

async fn only_the_bot_owner_may_follow(b: Backend) {
    let Some(app) = app(b).await else { return };
    let c = cast(&app).await;
    let (reply_id, mut visitor) = visitor_reply(&app, &c, 40).await;
    let stranger = app.user_token().await;
    let other_visitor = second_visitor(&app, &c).await;
    for (who, token) in [
        ("another user", &stranger),
        ("another visitor of the bot", &other_visitor),
    ] {
        let mut ws = app.ws_authed(token).await;
        ws.send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 0}))
            .await;
        let e = ws.recv_type("error").await;
        assert_eq!(e["code"], "NOT_FOUND", "{who}: {e}");
        assert_eq!(e["reply_id"], reply_id.as_str(), "{who}");
        expect_error(
            app.get(&format!("/api/v1/chat/replies/{reply_id}/poll?wait_ms=0"), Some(token))
                .await,
            404,
            "NOT_FOUND",
        )
        .await;
    }
    // The owner follows it but cannot stop it: that stays the visitor's.
    let mut owner = app.ws_authed(&c.owner).await;
    owner.send(json!({"type": "stop", "reply_id": reply_id})).await;
    assert_eq!(owner.recv_type("error").await["code"], "NOT_FOUND");
    let done = visitor.collect(&reply_id).await;
    assert_eq!(done.complete.expect("complete")["metadata"]["finish_reason"], "stop");
    // After it finished, still nobody else.
    let mut ws = app.ws_authed(&stranger).await;
    ws.send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 0}))
        .await;
    assert_eq!(ws.recv_type("error").await["code"], "NOT_FOUND");
}

/// Another widget visitor of the same bot: its token.
async fn second_visitor(app: &TestApp, c: &Cast) -> String {
    let (_, bot) = body(app.get(&format!("/api/v1/bots/{}", c.bot_id), Some(&c.owner)).await).await;
    let key = bot["widget"]["public_key"].as_str().expect("a public key");
    let v = super::widget_session(app, key).await;
    v["token"].as_str().expect("a visitor token").to_string()
}
