//! The widget's server side (contract §4, §7): visitor sessions, CORS, and the
//! scoping of visitor tokens to their own bot and conversations.

use crate::helpers::*;
use crate::{both_backends, sqlite_only};

both_backends!(visitors_are_scoped);
sqlite_only!(
    sessions_and_cors,
    owners_see_their_visitors,
    static_files_go_out_gzipped
);

const SITE: &str = "http://localhost:4100";

/// An owner with a widget bot allowed on `SITE`: (owner token, bot id, public key).
async fn widget_bot(app: &TestApp) -> (String, String, String) {
    let owner = app.user_token().await;
    let (s, bot) = body(
        app.post(
            "/api/v1/bots",
            Some(&owner),
            json!({"name": "Shop helper", "greeting": "Hi there!", "widget": {"enabled": true, "allowed_origins": [SITE], "theme": {"color": "#0ea5e9"}}}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201);
    (
        owner,
        bot["id"].as_str().unwrap().to_string(),
        bot["widget"]["public_key"].as_str().unwrap().to_string(),
    )
}

async fn session(app: &TestApp, origin: &str, key: &str, token: Option<&str>) -> reqwest::Response {
    let mut b = json!({"bot_key": key});
    if let Some(t) = token {
        b["token"] = json!(t);
    }
    app.http
        .post(app.url("/api/v1/widget/session"))
        .header("Origin", origin)
        .json(&b)
        .send()
        .await
        .unwrap()
}

async fn sessions_and_cors(b: Backend) {
    let Some(app) = app(b).await else { return };
    let (owner, bot_id, key) = widget_bot(&app).await;
    // Allowed origin: a visitor token, with CORS for that origin and no credentials.
    let r = session(&app, SITE, &key, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], SITE);
    assert!(r.headers().get("access-control-allow-credentials").is_none());
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["bot"]["name"], "Shop helper");
    assert_eq!(v["bot"]["greeting"], "Hi there!");
    assert_eq!(v["bot"]["theme"]["color"], "#0ea5e9");
    let token = v["token"].as_str().unwrap().to_string();
    let visitor = v["visitor_id"].as_str().unwrap().to_string();
    // Another origin, an unknown key: 403 and no CORS header.
    for (origin, k) in [("http://evil.example", key.as_str()), (SITE, "pk_nope")] {
        let r = session(&app, origin, k, None).await;
        assert_eq!(r.status(), 403);
        assert!(r.headers().get("access-control-allow-origin").is_none());
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "FORBIDDEN");
    }
    // Preflights: only for origins some enabled bot allows.
    let pre = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/chat/messages"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "authorization, content-type")
            .send()
    };
    let ok = pre(SITE).await.unwrap();
    assert!(ok.status().is_success());
    assert_eq!(ok.headers()["access-control-allow-origin"], SITE);
    let bad = pre("http://evil.example").await.unwrap();
    assert!(bad.headers().get("access-control-allow-origin").is_none());
    // The visitor chats cross-origin with its token.
    let r = app
        .http
        .post(app.url("/api/v1/chat"))
        .header("Origin", SITE)
        .bearer_auth(&token)
        .json(&json!({"message": "do you ship to Norway?", "session_id": "visit-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], SITE);
    // The same token from an origin its bot does not allow is refused.
    let r = app
        .http
        .post(app.url("/api/v1/chat/messages"))
        .header("Origin", "http://evil.example")
        .bearer_auth(&token)
        .json(&json!({"message": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // And over the WebSocket too.
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        app.ws_url(&format!("/ws/chat?token={token}")),
    )
    .unwrap();
    req.headers_mut()
        .insert("Origin", "http://evil.example".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_err());
    // A returning visitor presents its previous token (even an expired one); its id alone is nothing.
    let again: Value = session(&app, SITE, &key, Some(&token)).await.json().await.unwrap();
    assert_eq!(again["visitor_id"], visitor.as_str());
    let now = chrono::Utc::now().timestamp();
    let expired = app.engine.accounts.keys().encode(&engine::auth::Claims {
        sub: visitor.clone(),
        role: protocol::objects::Role::Visitor,
        exp: now - 3600,
        iat: now - 10 * 24 * 3600,
        jti: "old".into(),
        bot: Some(bot_id.clone()),
    });
    let back: Value = session(&app, SITE, &key, Some(&expired)).await.json().await.unwrap();
    assert_eq!(back["visitor_id"], visitor.as_str());
    let stranger: Value = session(&app, SITE, &key, Some(&visitor)).await.json().await.unwrap();
    assert_ne!(stranger["visitor_id"], visitor.as_str());
    // A disabled widget refuses new sessions.
    app.patch(
        &format!("/api/v1/bots/{bot_id}"),
        Some(&owner),
        json!({"widget": {"enabled": false}}),
    )
    .await;
    assert_eq!(session(&app, SITE, &key, None).await.status(), 403);
}

async fn visitors_are_scoped(b: Backend) {
    let Some(app) = app(b).await else { return };
    let (owner, bot_id, key) = widget_bot(&app).await;
    let a: Value = session(&app, SITE, &key, None).await.json().await.unwrap();
    let bv: Value = session(&app, SITE, &key, None).await.json().await.unwrap();
    let (ta, tb) = (
        a["token"].as_str().unwrap().to_string(),
        bv["token"].as_str().unwrap().to_string(),
    );
    let (_, sent) = body(
        app.post(
            "/api/v1/chat",
            Some(&tb),
            json!({"message": "B's secret", "session_id": "b-chat"}),
        )
        .await,
    )
    .await;
    let b_reply = sent["reply_id"].as_str().unwrap().to_string();
    // A cannot read, join or resume B's conversation.
    expect_error(
        app.get("/api/v1/conversations/b-chat/messages", Some(&ta)).await,
        404,
        "NOT_FOUND",
    )
    .await;
    expect_error(
        app.get(&format!("/api/v1/chat/replies/{b_reply}/poll"), Some(&ta))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    let mut ws = app.ws_authed(&ta).await;
    for f in [
        json!({"type": "join", "session_id": "b-chat"}),
        json!({"type": "resume", "reply_id": b_reply, "after_seq": 0}),
    ] {
        ws.send(f.clone()).await;
        assert_eq!(ws.recv_type("error").await["code"], "NOT_FOUND", "{f}");
    }
    // A visitor talks to its own bot only, and manages no bots.
    let (_, other_bot) = body(app.post("/api/v1/bots", Some(&owner), json!({"name": "Other"})).await).await;
    ws.send(json!({"type": "message", "message": "x", "bot_id": other_bot["id"]}))
        .await;
    assert_eq!(ws.recv_type("error").await["code"], "INVALID_FRAME");
    let (_, bots) = body(app.get("/api/v1/bots", Some(&ta)).await).await;
    assert_eq!(bots["bots"], json!([]));
    expect_error(
        app.post("/api/v1/bots", Some(&ta), json!({"name": "mine"})).await,
        403,
        "FORBIDDEN",
    )
    .await;
    // A's own conversation goes to the widget's bot.
    let ack = ws.message("hello", Some("a-chat"), None).await;
    ws.collect(ack["reply_id"].as_str().unwrap()).await;
    let (_, conv) = body(app.get("/api/v1/conversations/a-chat", Some(&ta)).await).await;
    assert_eq!(conv["bot_id"], bot_id.as_str());
    // Visitor tokens are not user sessions in the web app.
    let (_, me) = body(app.get("/api/v1/auth/me", Some(&ta)).await).await;
    assert_eq!(me["role"], "visitor");
}

async fn owners_see_their_visitors(b: Backend) {
    let Some(app) = app(b).await else { return };
    let (owner, bot_id, key) = widget_bot(&app).await;
    // The owner watches the bot's live events.
    let events = app
        .http
        .get(app.url(&format!("/api/v1/bots/{bot_id}/events?token={owner}")))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let reader = tokio::spawn(crate::http_chat::read_sse(events, |e, _, _| e == "complete"));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let v: Value = session(&app, SITE, &key, None).await.json().await.unwrap();
    let (token, visitor) = (v["token"].as_str().unwrap(), v["visitor_id"].as_str().unwrap());
    let (s, _) = body(
        app.post(
            "/api/v1/chat",
            Some(token),
            json!({"message": "where is my order?", "session_id": "order-q"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    let seen = reader.await.unwrap();
    let names: Vec<&str> = seen.iter().map(|e| e.0.as_str()).collect();
    assert!(
        names.contains(&"message_added") && names.contains(&"stream_start") && names.contains(&"complete"),
        "{names:?}"
    );
    assert!(
        seen.iter()
            .all(|(_, _, d)| serde_json::from_str::<Value>(d).unwrap()["visitor_id"] == visitor),
        "every event names the visitor"
    );

    let (s, list) = body(
        app.get(&format!("/api/v1/bots/{bot_id}/conversations"), Some(&owner))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let c = &list["conversations"][0];
    assert_eq!(c["visitor_id"], visitor);
    assert_eq!(c["session_id"], "order-q");
    assert_eq!(c["title"], "where is my order?");
    let path = format!("/api/v1/bots/{bot_id}/visitors/{visitor}/conversations/order-q/messages");
    let (s, t) = body(app.get(&path, Some(&owner)).await).await;
    assert_eq!(s, 200);
    assert_eq!(t["messages"][0]["content"], "where is my order?");
    assert_eq!(t["messages"].as_array().unwrap().len(), 2);
    // Nobody else sees them.
    let stranger = app.user_token().await;
    expect_error(
        app.get(&format!("/api/v1/bots/{bot_id}/conversations"), Some(&stranger))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    expect_error(app.get(&path, Some(&stranger)).await, 404, "NOT_FOUND").await;
    expect_error(app.get(&path, Some(token)).await, 404, "NOT_FOUND").await;
    expect_error(
        app.get(
            &format!("/api/v1/bots/{bot_id}/visitors/nobody/conversations/order-q/messages"),
            Some(&owner),
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
}

/// The build gzips the bundles; a client that accepts gzip gets that copy (the
/// size the widget's budget counts), any other client the plain file.
async fn static_files_go_out_gzipped(b: Backend) {
    use std::io::Write;
    let site = std::env::temp_dir().join(format!("brook-site-{}", uuid::Uuid::new_v4().simple()));
    let plain = "console.log('brook');".repeat(50);
    for dir in ["pkg", "widget"] {
        std::fs::create_dir_all(site.join(dir)).unwrap();
        std::fs::write(site.join(dir).join("f.js"), &plain).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(plain.as_bytes()).unwrap();
        std::fs::write(site.join(dir).join("f.js.gz"), gz.finish().unwrap()).unwrap();
    }
    let root = site.clone();
    let Some(app) = spawn_app(AppOptions::new(b).config(move |c| c.site_root = root)).await else {
        return;
    };
    for path in ["/pkg/f.js", "/widget/f.js"] {
        let r = app
            .http
            .get(app.url(path))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-encoding"], "gzip", "{path}");
        assert_eq!(r.headers()["vary"], "accept-encoding", "{path}");
        let bytes = r.bytes().await.unwrap();
        assert!(bytes.len() < plain.len() / 4, "{path}: {} bytes", bytes.len());
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text).unwrap();
        assert_eq!(text, plain);
        let r = app.http.get(app.url(path)).send().await.unwrap();
        assert!(r.headers().get("content-encoding").is_none(), "{path}");
        assert_eq!(r.text().await.unwrap(), plain);
    }
    let _ = std::fs::remove_dir_all(site);
}
