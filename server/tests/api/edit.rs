//! Editing the last user message (issue 17, docs/decisions.md): `regenerate`
//! with `content`. The message takes the new text, the new reply answers it,
//! and earlier replies stay as versions that remember what they answered.

use crate::both_backends;
use crate::helpers::*;

both_backends!(
    edit_makes_a_new_version_that_answers_the_new_text,
    edit_is_checked_like_a_message
);

async fn edit_makes_a_new_version_that_answers_the_new_text(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    app.upstream()
        .push(Behaviour::pieces(vec!["about ".into(), "cats".into()]));
    app.upstream()
        .push(Behaviour::pieces(vec!["about ".into(), "dogs".into()]));
    let mut ws = app.ws_authed(&token).await;
    let ack = ws.message("tell me about cats", Some("edits"), None).await;
    ws.collect(ack["reply_id"].as_str().unwrap()).await;
    // A second tab, joined, sees the edited text.
    let mut other = app.ws_authed(&token).await;
    other.send(json!({"type": "join", "session_id": "edits"})).await;
    other.recv_type("joined").await;

    ws.send(
        json!({"type": "regenerate", "session_id": "edits", "client_id": "edit-1",
        "content": "tell me about dogs"}),
    )
    .await;
    let r = ws.recv_type("ack").await;
    assert_eq!(r["message_id"], ack["message_id"], "the same user message, edited");
    let c = ws.collect(r["reply_id"].as_str().unwrap()).await;
    assert_eq!(c.response(), "about dogs");
    let added = other.recv_type("message_added").await;
    assert_eq!(added["message"]["id"], ack["message_id"]);
    assert_eq!(added["message"]["content"], "tell me about dogs");

    // The model was asked the new text, and not the old one as well.
    assert_eq!(user_texts_asked(&app), vec!["tell me about dogs".to_string()]);

    let (_, msgs) = body(app.get("/api/v1/conversations/edits/messages", Some(&token)).await).await;
    let msgs = msgs["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0]["content"], "tell me about dogs");
    assert!(msgs[0]["metadata"]["edited_at"].is_i64());
    assert_eq!(msgs[1]["content"], "about dogs");
    assert_eq!(msgs[1]["metadata"]["versions"], 2);
    let v = versions(&app, &token, &r["reply_id"]).await;
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["content"], "about cats");
    assert_eq!(
        v[0]["metadata"]["prompt"], "tell me about cats",
        "the old reply remembers its question"
    );
    assert!(
        v[1]["metadata"]["prompt"].is_null(),
        "the newest answers the message as shown"
    );

    // Idempotent: the same client id answers the same ack and edits nothing more.
    ws.send(
        json!({"type": "regenerate", "session_id": "edits", "client_id": "edit-1",
        "content": "something else"}),
    )
    .await;
    assert_eq!(ws.recv_type("ack").await["reply_id"], r["reply_id"]);
    // A plain regenerate after the edit: the edited reply gets its prompt, the first keeps its own.
    app.upstream()
        .push(Behaviour::pieces(vec!["more ".into(), "dogs".into()]));
    let (status, again) = body(
        app.post(
            "/api/v1/chat/regenerate",
            Some(&token),
            json!({"session_id": "edits", "content": "dogs, briefly"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 202, "{again}");
    ws.send(json!({"type": "resume", "reply_id": again["reply_id"], "after_seq": 0}))
        .await;
    ws.collect(again["reply_id"].as_str().unwrap()).await;
    let prompts: Vec<Value> = versions(&app, &token, &again["reply_id"])
        .await
        .iter()
        .map(|v| v["metadata"]["prompt"].clone())
        .collect();
    assert_eq!(
        prompts,
        vec![json!("tell me about cats"), json!("tell me about dogs"), Value::Null]
    );
}

/// The user turns of the last request the model was asked.
fn user_texts_asked(app: &TestApp) -> Vec<String> {
    let asked = app.upstream().requests().last().cloned().unwrap();
    asked["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A reply's versions, oldest first.
async fn versions(app: &TestApp, token: &str, reply_id: &Value) -> Vec<Value> {
    let url = format!("/api/v1/messages/{}/versions", reply_id.as_str().unwrap());
    let (_, v) = body(app.get(&url, Some(token)).await).await;
    v["versions"].as_array().unwrap().clone()
}

async fn edit_is_checked_like_a_message(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let mut ws = app.ws_authed(&token).await;
    let ack = ws.message("original", Some("checked"), None).await;
    ws.collect(ack["reply_id"].as_str().unwrap()).await;
    let r = app
        .post(
            "/api/v1/chat/regenerate",
            Some(&token),
            json!({"session_id": "checked", "content": "   "}),
        )
        .await;
    expect_error(r, 400, "EMPTY_MESSAGE").await;
    let long = "x".repeat(16_001);
    let r = app
        .post(
            "/api/v1/chat/regenerate",
            Some(&token),
            json!({"session_id": "checked", "content": long}),
        )
        .await;
    expect_error(r, 413, "MESSAGE_TOO_LONG").await;
    // Over the WebSocket the same refusal is an error frame, and nothing changed.
    ws.send(json!({"type": "regenerate", "session_id": "checked", "client_id": "e2", "content": ""}))
        .await;
    let e = ws.recv_type("error").await;
    assert_eq!(e["code"], "EMPTY_MESSAGE");
    let (_, msgs) = body(app.get("/api/v1/conversations/checked/messages", Some(&token)).await).await;
    assert_eq!(msgs["messages"][0]["content"], "original");
    assert_eq!(msgs["messages"].as_array().unwrap().len(), 2);
}
