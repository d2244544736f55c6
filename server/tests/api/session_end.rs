//! Issue 11 §4.8 and §4.5: a session that ends ends everywhere. Logging out
//! closes every stream opened with the token (WebSocket, the events SSE, a
//! reply's SSE, a waiting long poll), and the token never works again on any
//! transport, not even after a restart. Deleting a bot or disabling its widget
//! does the same to all of its visitors: `404` on every call, open streams
//! closed, refresh refused; and a logged-out visitor token never revives its
//! visitor.

use std::time::Duration;

use futures::StreamExt;

use crate::both_backends;
use crate::helpers::*;

both_backends!(
    logout_ends_every_stream_of_the_token,
    removing_a_bot_cuts_off_its_visitors,
    revoking_an_api_key_ends_its_streams
);

/// An upper bound for "at once": generous, so a slow machine never fails it.
const SOON: Duration = Duration::from_secs(10);

/// Waits until the node holds `n` registered streams (so a test never races the
/// registration of the stream it is about to see closed).
async fn wait_for_connections(app: &TestApp, n: usize) {
    let deadline = tokio::time::Instant::now() + SOON;
    while app.engine.connections() < n {
        assert!(tokio::time::Instant::now() < deadline, "streams never registered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads an SSE body to its end. Returns the raw text it carried, or panics if it
/// is still open after [`SOON`].
async fn body_ends(r: reqwest::Response) -> String {
    let mut text = String::new();
    let mut body = r.bytes_stream();
    let read = async {
        while let Some(Ok(chunk)) = body.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(SOON, read).await.expect("the stream was closed");
    text
}

/// The WebSocket is closed by the server with `code`.
async fn ws_closed_with(ws: &mut WsClient, code: u16) {
    let deadline = tokio::time::Instant::now() + SOON;
    while ws.closed.is_none() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        assert!(!left.is_zero(), "the websocket stayed open");
        if ws.recv_within(left).await.is_none() && ws.closed.is_none() {
            panic!("the websocket ended without a close frame");
        }
    }
    assert_eq!(ws.closed, Some(code));
}

/// The WebSocket still answers a ping.
async fn ws_alive(ws: &mut WsClient) {
    ws.send(json!({"type": "ping", "ts": 7})).await;
    let pong = ws.recv_type("pong").await;
    assert_eq!(pong["ts"], 7);
}

async fn sse(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    let r = app
        .http
        .get(app.url(&format!("{path}{sep}token={token}")))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200, "{path}");
    r
}

async fn login(app: &TestApp, email: &str) -> String {
    let (s, v) = body(
        app.post(
            "/api/v1/auth/login",
            None,
            json!({"email": email, "password": "correct horse battery"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v["token"].as_str().unwrap().to_string()
}

/// Every way a token can be presented is refused with `status`/`code` (and the
/// WebSocket answers `auth_error`, with `ws_code` if given).
async fn refused_everywhere(app: &TestApp, token: &str, status: u16, code: &str, ws_code: Option<&str>) {
    expect_error(app.get("/api/v1/auth/me", Some(token)).await, status, code).await;
    expect_error(app.get("/api/v1/conversations", Some(token)).await, status, code).await;
    expect_error(
        app.post("/api/v1/chat/messages", Some(token), json!({"message": "still here?"}))
            .await,
        status,
        code,
    )
    .await;
    expect_error(
        app.post("/api/v1/auth/refresh", Some(token), json!({})).await,
        status,
        code,
    )
    .await;
    let r = app
        .http
        .get(app.url(&format!("/api/v1/chat/events?token={token}")))
        .send()
        .await
        .unwrap();
    expect_error(r, status, code).await;
    // `?token=` on the upgrade: the first frame is `auth_error`.
    let mut ws = app.ws(&format!("/ws/chat?token={token}")).await;
    let first = ws.recv().await.expect("an answer");
    assert_eq!(first["type"], "auth_error", "{first}");
    assert_eq!(first["code"].as_str(), ws_code, "{first}");
    // The `auth` frame.
    let mut ws = app.ws("/ws/chat").await;
    ws.send(json!({"type": "auth", "token": token})).await;
    let first = ws.recv().await.expect("an answer");
    assert_eq!(first["type"], "auth_error", "{first}");
    assert_eq!(first["code"].as_str(), ws_code, "{first}");
    ws.send(json!({"type": "message", "message": "hi"})).await;
    assert_eq!(ws.recv_type("error").await["code"], "AUTH_REQUIRED");
}

async fn logout_ends_every_stream_of_the_token(b: Backend) {
    let Some(app) = app(b).await else { return };
    let email = format!("out{}@example.com", uuid::Uuid::new_v4().simple());
    let (token, _) = app.register(&email).await;
    let other_device = login(&app, &email).await;
    // A reply that stays live for the whole test.
    app.upstream()
        .set_default(Behaviour::tokens(2000).delay(Duration::ZERO, Duration::from_millis(50)));
    let (s, sent) = body(
        app.post("/api/v1/chat/messages", Some(&other_device), json!({"message": "long"}))
            .await,
    )
    .await;
    assert_eq!(s, 202, "{sent}");
    let reply = sent["reply_id"].as_str().unwrap().to_string();

    // Every kind of stream, opened with the token that logs out…
    let mut ws_frame_auth = app.ws_authed(&token).await;
    let mut ws_query = app.ws(&format!("/ws/chat?token={token}")).await;
    assert_eq!(ws_query.recv().await.unwrap()["type"], "auth_success");
    let events = sse(&app, "/api/v1/chat/events", &token).await;
    let reply_sse = sse(
        &app,
        &format!("/api/v1/chat/replies/{reply}/events?after_seq=1000000"),
        &token,
    )
    .await;
    let poll = {
        let url = app.url(&format!(
            "/api/v1/chat/replies/{reply}/poll?after_seq=1000000&wait_ms=30000&token={token}"
        ));
        let http = app.http.clone();
        tokio::spawn(async move { http.get(url).send().await.expect("poll") })
    };
    // …and one of the same user on another device, which must survive.
    let mut survivor = app.ws_authed(&other_device).await;
    wait_for_connections(&app, 6).await;

    let r = app.post("/api/v1/auth/logout", Some(&token), json!({})).await;
    assert_eq!(r.status(), 204);

    ws_closed_with(&mut ws_frame_auth, 1008).await;
    ws_closed_with(&mut ws_query, 1008).await;
    body_ends(events).await;
    let replayed = body_ends(reply_sse).await;
    assert!(!replayed.contains("event: complete"), "cut, not finished: {replayed}");
    let polled = tokio::time::timeout(SOON, poll)
        .await
        .expect("the poll answered")
        .unwrap();
    expect_error(polled, 401, "AUTH_REQUIRED").await;
    ws_alive(&mut survivor).await;

    refused_everywhere(&app, &token, 401, "AUTH_REQUIRED", None).await;
    // The other device's token still works, and the reply kept generating.
    let (s, _) = body(app.get("/api/v1/auth/me", Some(&other_device)).await).await;
    assert_eq!(s, 200);
    // A restart reloads the revocation from storage: the token stays dead.
    let reloaded = engine::accounts::Accounts::load(app.engine.store().clone(), None, "m")
        .await
        .expect("accounts load");
    assert_eq!(
        reloaded.authenticate(&token).err(),
        Some(engine::auth::TokenError::Revoked)
    );
    assert!(reloaded.authenticate(&other_device).is_ok());
}

/// A widget bot of `owner` (any origin) and a visitor of it: (bot id, key, visitor token).
async fn bot_with_visitor(app: &TestApp, owner: &str) -> (String, String, String) {
    let (s, bot) = body(
        app.post(
            "/api/v1/bots",
            Some(owner),
            json!({"name": "shop", "widget": {"enabled": true, "allowed_origins": ["*"]}}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{bot}");
    let id = bot["id"].as_str().unwrap().to_string();
    let key = bot["widget"]["public_key"].as_str().unwrap().to_string();
    let visitor = visitor_session(app, &key, None).await;
    (id, key, visitor["token"].as_str().unwrap().to_string())
}

async fn visitor_session(app: &TestApp, key: &str, token: Option<&str>) -> Value {
    let r = app
        .http
        .post(app.url("/api/v1/widget/session"))
        .header("Origin", "https://shop.example")
        .json(&json!({"bot_key": key, "token": token}))
        .send()
        .await
        .unwrap();
    let (s, v) = body(r).await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn removing_a_bot_cuts_off_its_visitors(b: Backend) {
    let Some(app) = app(b).await else { return };
    let owner = app.user_token().await;
    let disabled = bot_with_visitor(&app, &owner).await;
    let deleted = bot_with_visitor(&app, &owner).await;
    let untouched = bot_with_visitor(&app, &owner).await;

    let cuts: [(&(String, String, String), reqwest::Method, Value); 2] = [
        (&disabled, reqwest::Method::PATCH, json!({"widget": {"enabled": false}})),
        (&deleted, reqwest::Method::DELETE, Value::Null),
    ];
    let mut bystander = app.ws_authed(&untouched.2).await;
    for ((bot, key, visitor), method, patch) in cuts {
        let (s, v) = body(
            app.post("/api/v1/chat", Some(visitor), json!({"message": "hello"}))
                .await,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let mut ws = app.ws_authed(visitor).await;
        let events = sse(&app, "/api/v1/chat/events", visitor).await;
        wait_for_connections(&app, 3).await;

        let mut req = app
            .http
            .request(method, app.url(&format!("/api/v1/bots/{bot}")))
            .bearer_auth(&owner);
        if !patch.is_null() {
            req = req.json(&patch);
        }
        let r = req.send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.status());

        ws_closed_with(&mut ws, 1008).await;
        body_ends(events).await;
        refused_everywhere(&app, visitor, 404, "NOT_FOUND", Some("NOT_FOUND")).await;
        // No fresh token for it: the widget session is refused like any unknown widget.
        let r = app
            .http
            .post(app.url("/api/v1/widget/session"))
            .header("Origin", "https://shop.example")
            .json(&json!({"bot_key": key, "token": visitor}))
            .send()
            .await
            .unwrap();
        expect_error(r, 403, "FORBIDDEN").await;
        ws_alive(&mut bystander).await;
    }
    // Turning the widget back on lets its visitors back in (their tokens were never revoked).
    let r = app
        .patch(
            &format!("/api/v1/bots/{}", disabled.0),
            Some(&owner),
            json!({"widget": {"enabled": true}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let (s, _) = body(app.get("/api/v1/auth/me", Some(&disabled.2)).await).await;
    assert_eq!(s, 200);

    // A logged-out visitor token never revives its visitor.
    let (_, key, visitor) = &untouched;
    let before = body(app.get("/api/v1/auth/me", Some(visitor)).await).await.1;
    let r = app.post("/api/v1/auth/logout", Some(visitor), json!({})).await;
    assert_eq!(r.status(), 204);
    ws_closed_with(&mut bystander, 1008).await;
    let again = visitor_session(&app, key, Some(visitor)).await;
    assert_ne!(again["visitor_id"], before["id"], "a revoked token revived its visitor");
    refused_everywhere(&app, visitor, 401, "AUTH_REQUIRED", None).await;
}

/// §4.8's kind for personal API keys (contract §10): revoking a key closes the
/// streams opened with it at once; the user's other credentials keep theirs.
async fn revoking_an_api_key_ends_its_streams(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let (s, created) = body(app.post("/api/v1/keys", Some(&token), json!({"name": "ci"})).await).await;
    assert_eq!(s, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();

    let mut ws_key = app.ws_authed(&key).await;
    let events = sse(&app, "/api/v1/chat/events", &key).await;
    let mut survivor = app.ws_authed(&token).await;
    wait_for_connections(&app, 3).await;

    let r = app.delete(&format!("/api/v1/keys/{id}"), Some(&token)).await;
    assert_eq!(r.status(), 204);

    ws_closed_with(&mut ws_key, 1008).await;
    body_ends(events).await;
    ws_alive(&mut survivor).await;
    expect_error(app.get("/api/v1/auth/me", Some(&key)).await, 401, "AUTH_REQUIRED").await;
}
