//! Ownership: anything of another identity answers exactly as if it did not exist.

use crate::both_backends;
use crate::helpers::*;

both_backends!(authorization_matrix);

/// Has `token`'s account say something, and returns `(session_id, user message id, reply id)`.
pub async fn chat_once(app: &TestApp, token: &str, text: &str, session_id: Option<&str>) -> (String, String, String) {
    let mut ws = app.ws_authed(token).await;
    let ack = ws.message(text, session_id, None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    let c = ws.collect(&reply_id).await;
    assert!(c.complete.is_some());
    ws.close().await;
    (
        ack["session_id"].as_str().unwrap().to_string(),
        ack["message_id"].as_str().unwrap().to_string(),
        reply_id,
    )
}

async fn authorization_matrix(b: Backend) {
    let Some(app) = app(b).await else { return };
    let (a, _) = app.register("alice@example.com").await;
    let (bob, _) = app.register("bob@example.com").await;
    let (session, user_msg, reply) = chat_once(&app, &a, "secret plans", Some("alice-only")).await;
    chat_once(&app, &a, "alice's shared", Some("shared-name")).await;
    let (_, a_bots) = body(app.get("/api/v1/bots", Some(&a)).await).await;
    let bot = a_bots["bots"][0]["id"].as_str().unwrap().to_string();

    let reads = [
        format!("/api/v1/conversations/{session}"),
        format!("/api/v1/conversations/{session}/messages"),
        format!("/api/v1/messages/{user_msg}/versions"),
        format!("/api/v1/messages/{reply}/versions"),
        format!("/api/v1/bots/{bot}"),
        format!("/api/v1/bots/{bot}/conversations"),
    ];
    for path in &reads {
        expect_error(app.get(path, Some(&bob)).await, 404, "NOT_FOUND").await;
        // And for the owner it exists.
        assert_eq!(app.get(path, Some(&a)).await.status(), 200, "{path}");
    }
    expect_error(
        app.patch(
            &format!("/api/v1/conversations/{session}"),
            Some(&bob),
            json!({"title": "mine"}),
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
    expect_error(
        app.patch(&format!("/api/v1/bots/{bot}"), Some(&bob), json!({"name": "mine"}))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    expect_error(
        app.delete(&format!("/api/v1/conversations/{session}"), Some(&bob))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    expect_error(
        app.delete(&format!("/api/v1/bots/{bot}"), Some(&bob)).await,
        404,
        "NOT_FOUND",
    )
    .await;
    // Bob's list does not show it, and Bob may use the same conversation id for his own.
    let (_, list) = body(app.get("/api/v1/conversations", Some(&bob)).await).await;
    assert_eq!(list["conversations"].as_array().unwrap().len(), 0);
    let (bob_session, _, _) = chat_once(&app, &bob, "my own", Some("shared-name")).await;
    assert_eq!(bob_session, "shared-name");
    let (_, mine) = body(app.get("/api/v1/conversations/shared-name/messages", Some(&bob)).await).await;
    assert_eq!(mine["messages"][0]["content"], "my own");
    let (_, hers) = body(app.get("/api/v1/conversations/shared-name/messages", Some(&a)).await).await;
    assert_eq!(hers["messages"][0]["content"], "alice's shared");

    // Over the WebSocket: resume, join, stop and typing of foreign ids are NOT_FOUND.
    let mut ws = app.ws_authed(&bob).await;
    for frame in [
        json!({"type": "resume", "reply_id": reply, "after_seq": 0}),
        json!({"type": "stop", "reply_id": reply}),
        json!({"type": "join", "session_id": session}),
    ] {
        ws.send(frame.clone()).await;
        let e = ws.recv_type("error").await;
        assert_eq!(e["code"], "NOT_FOUND", "{frame}");
    }
    // Bob cannot post into Alice's bot.
    ws.send(json!({"type": "message", "message": "hi", "bot_id": bot}))
        .await;
    let e = ws.recv_type("error").await;
    assert_eq!(e["code"], "NOT_FOUND");
    // Nothing of Alice's changed.
    let (_, after) = body(
        app.get(&format!("/api/v1/conversations/{session}/messages"), Some(&a))
            .await,
    )
    .await;
    assert_eq!(after["messages"].as_array().unwrap().len(), 2);
}
