//! §9.4 feedback (stored, shown to the bot's owner, counted in `/metrics`) and
//! export (Markdown with the newest versions, JSON with all of them).

use std::time::Duration;

use super::{cast, Sse};
use crate::both_backends;
use crate::helpers::*;

both_backends!(
    feedback_is_stored_shown_and_counted,
    export_downloads_the_conversation,
    the_owner_learns_of_feedback_live
);

/// A visitor's feedback reaches the owner's events stream as
/// `conversation_updated` with `visitor_id`, so an open transcript reloads.
async fn the_owner_learns_of_feedback_live(b: Backend) {
    let Some(app) = app(b).await else { return };
    let c = cast(&app).await;
    let mut owner = Sse::open(&app, &format!("/api/v1/bots/{}/events?token={}", c.bot_id, c.owner)).await;
    let mut ws = app.ws_authed(&c.visitor).await;
    let ack = ws.message("how much is it?", Some("s1"), None).await;
    let reply = ack["reply_id"].as_str().unwrap().to_string();
    ws.collect(&reply).await;
    // The stored reply's events end with its `message_added` on the owner's stream.
    while owner.next("message_added").await["message"]["id"] != reply.as_str() {}
    assert!(
        owner
            .next_within("conversation_updated", Duration::from_millis(300))
            .await
            .is_none(),
        "quiet before the feedback"
    );
    let path = format!("/api/v1/messages/{reply}/feedback");
    let r = app
        .http
        .put(app.url(&path))
        .bearer_auth(&c.visitor)
        .json(&json!({"rating": "down", "comment": "too vague"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let u = owner.next("conversation_updated").await;
    assert_eq!(u["visitor_id"], c.visitor_id.as_str(), "{u}");
    assert_eq!(u["conversation"]["id"], "s1", "{u}");
    // Clearing it says so too.
    assert_eq!(app.delete(&path, Some(&c.visitor)).await.status(), 204);
    let u = owner.next("conversation_updated").await;
    assert_eq!(u["visitor_id"], c.visitor_id.as_str(), "{u}");
}

async fn feedback_is_stored_shown_and_counted(b: Backend) {
    let Some(app) = app(b).await else { return };
    let c = cast(&app).await;
    let mut ws = app.ws_authed(&c.visitor).await;
    let ack = ws.message("how much is it?", Some("s1"), None).await;
    let reply = ack["reply_id"].as_str().unwrap().to_string();
    ws.collect(&reply).await;
    let path = format!("/api/v1/messages/{reply}/feedback");

    let put = |token: String, v: Value| {
        let url = app.url(&path);
        let http = app.http.clone();
        async move { http.put(url).bearer_auth(token).json(&v).send().await.unwrap() }
    };
    let (s, m) = body(put(c.visitor.clone(), json!({"rating": "down", "comment": "too vague"})).await).await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["id"], reply.as_str());
    assert_eq!(m["feedback"], json!({"rating": "down", "comment": "too vague"}));
    // The owner sees it in the transcript.
    let (_, t) = body(app.get(&c.path("s1", "messages"), Some(&c.owner)).await).await;
    assert_eq!(t["messages"][1]["feedback"]["rating"], "down");
    assert!(t["messages"][0]["feedback"].is_null());
    // Changing it, without a comment.
    let (s, m) = body(put(c.visitor.clone(), json!({"rating": "up"})).await).await;
    assert_eq!(s, 200);
    assert_eq!(m["feedback"]["rating"], "up");
    assert!(m["feedback"]["comment"].is_null());
    // /metrics counts by bot and rating.
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for rating in ["up", "down"] {
        let line = format!("brook_feedback_total{{bot_id=\"{}\",rating=\"{rating}\"}} 1", c.bot_id);
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }

    // Refusals: 422 for a bad rating, a long comment or a user message; 404 for others.
    for bad in [
        json!({"rating": "meh"}),
        json!({"rating": "up", "comment": "x".repeat(2001)}),
    ] {
        assert_error(&body(put(c.visitor.clone(), bad).await).await, 422, "VALIDATION_ERROR");
    }
    let (s, _) = body(put(c.visitor.clone(), json!({"rating": "up", "comment": "é".repeat(2000)})).await).await;
    assert_eq!(s, 200, "2000 characters are fine");
    let user_path = format!("/api/v1/messages/{}/feedback", ack["message_id"].as_str().unwrap());
    expect_error(rate(&app, &user_path, &c.visitor).await, 422, "VALIDATION_ERROR").await;
    let stranger = app.user_token().await;
    assert_error(
        &body(put(stranger.clone(), json!({"rating": "up"})).await).await,
        404,
        "NOT_FOUND",
    );
    expect_error(app.delete(&path, Some(&stranger)).await, 404, "NOT_FOUND").await;

    // Clearing it.
    let r = app.delete(&path, Some(&c.visitor)).await;
    assert_eq!(r.status(), 204);
    let (_, t) = body(app.get("/api/v1/conversations/s1/messages", Some(&c.visitor)).await).await;
    assert!(t["messages"][1]["feedback"].is_null());

    // Operator messages take feedback too.
    let (_, op) = body(
        app.post(
            &c.path("s1", "messages"),
            Some(&c.owner),
            json!({"message": "It is 5 euros."}),
        )
        .await,
    )
    .await;
    let op_path = format!("/api/v1/messages/{}/feedback", op["id"].as_str().unwrap());
    assert_eq!(rate(&app, &op_path, &c.visitor).await.status(), 200);
}

/// `PUT {path}` with a thumbs-up, as `token`.
async fn rate(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    let req = app.http.put(app.url(path)).bearer_auth(token);
    req.json(&json!({"rating": "up"})).send().await.unwrap()
}

async fn export_downloads_the_conversation(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let mut ws = app.ws_authed(&token).await;
    app.upstream().push(Behaviour::pieces(vec!["first answer".into()]));
    let ack = ws.message("Tell me a story", Some("story-1"), None).await;
    ws.collect(ack["reply_id"].as_str().unwrap()).await;
    app.upstream().push(Behaviour::pieces(vec!["second answer".into()]));
    ws.send(json!({"type": "regenerate", "session_id": "story-1"})).await;
    let again = ws.recv_type("ack").await;
    ws.collect(again["reply_id"].as_str().unwrap()).await;

    let r = app
        .get("/api/v1/conversations/story-1/export?format=markdown", Some(&token))
        .await;
    assert_eq!(r.status(), 200);
    let cd = r.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(cd.starts_with("attachment") && cd.contains(".md"), "{cd}");
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/markdown"));
    let md = r.text().await.unwrap();
    assert!(md.starts_with("# Tell me a story"), "{md}");
    assert!(md.contains("Tell me a story") && md.contains("second answer"), "{md}");
    assert!(
        !md.contains("first answer"),
        "markdown has the newest version only: {md}"
    );

    let r = app
        .get("/api/v1/conversations/story-1/export?format=json", Some(&token))
        .await;
    assert_eq!(r.status(), 200);
    let cd = r.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(cd.starts_with("attachment") && cd.contains(".json"), "{cd}");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["conversation"]["id"], "story-1");
    let texts: Vec<&str> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["Tell me a story", "first answer", "second answer"],
        "every version"
    );
    assert_eq!(v["messages"][1]["metadata"]["version"], 1);
    assert_eq!(v["messages"][2]["metadata"]["version"], 2);
    assert_eq!(v["messages"][2]["metadata"]["versions"], 2);

    let stranger = app.user_token().await;
    expect_error(
        app.get("/api/v1/conversations/story-1/export?format=json", Some(&stranger))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    expect_error(
        app.get("/api/v1/conversations/story-1/export?format=pdf", Some(&token))
            .await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
}
