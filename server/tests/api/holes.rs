//! The access-control holes of issue 11 §4 (1, 2, 3, 4, 7, 10), each tested
//! against its whole kind: every cookie-authenticated path, every reader of the
//! query, every path parameter, every endpoint that sets the cookie, every place
//! an upstream error can reach a client.

use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::*;
use crate::{both_backends, sqlite_only};

both_backends!(malformed_path_parameters_answer_like_get);
sqlite_only!(
    the_cookie_origin_check_compares_the_scheme,
    encoded_query_names_are_the_names_everywhere,
    visitors_find_no_bots_to_edit,
    endpoints_that_set_the_cookie_refuse_other_sites,
    upstream_error_bodies_never_reach_clients,
    server_functions_answer_with_the_contracts_status,
    invalid_utf8_closes_with_1007
);

/// A user's session cookie pair (`brook_session=…`).
async fn cookie(app: &TestApp) -> String {
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": format!("c{}@example.com", uuid::Uuid::new_v4().simple()), "password": "correct horse battery"}),
        )
        .await;
    let c = r.headers()["set-cookie"].to_str().unwrap().to_string();
    c.split(';').next().unwrap().to_string()
}

/// Every state-changing endpoint a cookie can authenticate.
fn state_changing() -> Vec<(reqwest::Method, &'static str, Value)> {
    use reqwest::Method;
    vec![
        (Method::POST, "/api/v1/chat", json!({"message": "hi"})),
        (Method::POST, "/api/v1/chat/messages", json!({"message": "hi"})),
        (Method::POST, "/api/v1/chat/stream", json!({"message": "hi"})),
        (Method::POST, "/api/v1/chat/regenerate", json!({"session_id": "s1"})),
        (Method::POST, "/api/v1/chat/replies/r1/stop", json!({})),
        (Method::PATCH, "/api/v1/conversations/s1", json!({"title": "t"})),
        (Method::DELETE, "/api/v1/conversations/s1", json!({})),
        (Method::POST, "/api/v1/bots", json!({"name": "b"})),
        (Method::PATCH, "/api/v1/bots/b1", json!({"name": "b"})),
        (Method::DELETE, "/api/v1/bots/b1", json!({})),
        (Method::POST, "/api/v1/auth/refresh", json!({})),
        (Method::POST, "/api/v1/auth/logout", json!({})),
    ]
}

async fn the_cookie_origin_check_compares_the_scheme(b: Backend) {
    let Some(app) = app(b).await else { return };
    let pair = cookie(&app).await;
    let host = app.addr.to_string();
    // The site is served over https (a TLS proxy says so); pages over http are not it.
    for (method, path, payload) in state_changing() {
        let send = |origin: String| {
            app.http
                .request(method.clone(), app.url(path))
                .header("cookie", &pair)
                .header("x-forwarded-proto", "https")
                .header("origin", origin)
                .json(&payload)
                .send()
        };
        let r = send(format!("http://{host}")).await.unwrap();
        expect_error(r, 403, "FORBIDDEN").await;
        let r = send(format!("https://{host}:8443")).await.unwrap();
        expect_error(r, 403, "FORBIDDEN").await;
        let r = send(format!("https://{host}")).await.unwrap();
        assert_ne!(r.status(), 403, "{method} {path}: the https site itself is allowed");
    }
    // The WebSocket upgrade by cookie: the same rule (a fresh cookie: the loop
    // above logged the first one out).
    let pair = cookie(&app).await;
    for (origin, allowed) in [(format!("http://{host}"), false), (format!("https://{host}"), true)] {
        let mut req = app.ws_url("/ws/chat").into_client_request().unwrap();
        let h = req.headers_mut();
        h.insert("cookie", pair.parse().unwrap());
        h.insert("origin", origin.parse().unwrap());
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        let r = tokio_tungstenite::connect_async(req).await;
        assert_eq!(r.is_ok(), allowed, "upgrade from {origin}");
    }
}

async fn encoded_query_names_are_the_names_everywhere(b: Backend) {
    let Some(app) = app(b).await else { return };
    // A visitor of a bot allowed only on https://shop.example.
    let owner = app.user_token().await;
    let (_, bot) = body(
        app.post(
            "/api/v1/bots",
            Some(&owner),
            json!({"name": "w", "widget": {"enabled": true, "allowed_origins": ["https://shop.example"]}}),
        )
        .await,
    )
    .await;
    let key = bot["widget"]["public_key"].as_str().unwrap();
    let (_, v) = body(
        app.http
            .post(app.url("/api/v1/widget/session"))
            .header("origin", "https://shop.example")
            .json(&json!({"bot_key": key}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let visitor = v["token"].as_str().unwrap().to_string();
    // From a foreign site, the events stream refuses the visitor however the name is spelled.
    for name in ["token", "%74oken", "%74%6F%6B%65%6E"] {
        let r = app
            .http
            .get(app.url(&format!("/api/v1/chat/events?{name}={visitor}")))
            .header("origin", "https://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "?{name}= from a foreign site");
    }
    // And from its own site it works, however spelled.
    for name in ["token", "%74oken"] {
        let r = app
            .http
            .get(app.url(&format!("/api/v1/chat/events?{name}={visitor}")))
            .header("origin", "https://shop.example")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "?{name}= from the bot's site");
    }
    // Two tokens are no token.
    let user = app.user_token().await;
    let r = app
        .get(
            &format!("/api/v1/chat/replies/x/poll?token={user}&%74oken={visitor}"),
            None,
        )
        .await;
    expect_error(r, 401, "AUTH_REQUIRED").await;
    // The log line never holds it (the redaction reads decoded names).
    let uri: http::Uri = format!("/api/v1/chat/events?%74oken={visitor}").parse().unwrap();
    assert!(!brook_server::telemetry::redact_query(&uri).contains(&visitor));
}

async fn visitors_find_no_bots_to_edit(b: Backend) {
    let Some(app) = app(b).await else { return };
    let owner = app.user_token().await;
    let (_, bot) = body(
        app.post(
            "/api/v1/bots",
            Some(&owner),
            json!({"name": "w", "widget": {"enabled": true, "allowed_origins": ["*"]}}),
        )
        .await,
    )
    .await;
    let id = bot["id"].as_str().unwrap();
    let key = bot["widget"]["public_key"].as_str().unwrap();
    let (_, v) = body(
        app.http
            .post(app.url("/api/v1/widget/session"))
            .header("origin", "https://anywhere.example")
            .json(&json!({"bot_key": key}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let visitor = v["token"].as_str().unwrap();
    for target in [id, "no-such-bot"] {
        let path = format!("/api/v1/bots/{target}");
        expect_error(app.get(&path, Some(visitor)).await, 404, "NOT_FOUND").await;
        expect_error(
            app.patch(&path, Some(visitor), json!({"name": "x"})).await,
            404,
            "NOT_FOUND",
        )
        .await;
        expect_error(app.delete(&path, Some(visitor)).await, 404, "NOT_FOUND").await;
        expect_error(
            app.get(&format!("{path}/conversations"), Some(visitor)).await,
            404,
            "NOT_FOUND",
        )
        .await;
    }
    // The bot is untouched.
    let (_, still) = body(app.get(&format!("/api/v1/bots/{id}"), Some(&owner)).await).await;
    assert_eq!(still["name"], "w");
}

async fn malformed_path_parameters_answer_like_get(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    // A conversation id of the wrong form: 422 on every method.
    // (`..` itself cannot be sent: URL parsers resolve it, encoded or not.)
    for bad in ["a%2Fb", "a%20b", "%00", &"x".repeat(129)] {
        let path = format!("/api/v1/conversations/{bad}");
        expect_error(app.get(&path, Some(&token)).await, 422, "VALIDATION_ERROR").await;
        expect_error(
            app.patch(&path, Some(&token), json!({"title": "t"})).await,
            422,
            "VALIDATION_ERROR",
        )
        .await;
        expect_error(app.delete(&path, Some(&token)).await, 422, "VALIDATION_ERROR").await;
        expect_error(
            app.get(&format!("{path}/messages"), Some(&token)).await,
            422,
            "VALIDATION_ERROR",
        )
        .await;
    }
    // Opaque ids no server issues are unknown ids: 404, never a database error.
    let (_, bots) = body(app.get("/api/v1/bots", Some(&token)).await).await;
    let bot = bots["bots"][0]["id"].as_str().unwrap().to_string();
    for bad in ["%00", "a%0Ab", &"y".repeat(300)] {
        for path in [
            format!("/api/v1/bots/{bad}"),
            format!("/api/v1/bots/{bad}/conversations"),
            format!("/api/v1/messages/{bad}/versions"),
            format!("/api/v1/chat/replies/{bad}/poll?wait_ms=0"),
            format!("/api/v1/chat/replies/{bad}/events"),
            format!("/api/v1/bots/{bot}/visitors/{bad}/conversations/s1/messages"),
        ] {
            expect_error(app.get(&path, Some(&token)).await, 404, "NOT_FOUND").await;
        }
        expect_error(
            app.post(&format!("/api/v1/chat/replies/{bad}/stop"), Some(&token), json!({}))
                .await,
            404,
            "NOT_FOUND",
        )
        .await;
        expect_error(
            app.delete(&format!("/api/v1/bots/{bad}"), Some(&token)).await,
            404,
            "NOT_FOUND",
        )
        .await;
    }
    expect_error(
        app.get(
            &format!("/api/v1/bots/{bot}/visitors/v1/conversations/a%2Fb/messages"),
            Some(&token),
        )
        .await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    expect_error(
        app.get(
            &format!("/api/v1/bots/{bot}/visitors/v1/conversations/a%20b/messages"),
            Some(&token),
        )
        .await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
}

async fn endpoints_that_set_the_cookie_refuse_other_sites(b: Backend) {
    let Some(app) = app(b).await else { return };
    let user = app.user_token().await;
    let email = format!("csrf{}@example.com", uuid::Uuid::new_v4().simple());
    app.post(
        "/api/v1/auth/register",
        None,
        json!({"email": email, "password": "attacker's password"}),
    )
    .await;
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        (
            "/api/v1/auth/login",
            json!({"email": email, "password": "attacker's password"}).to_string(),
            None,
        ),
        (
            "/api/v1/auth/register",
            json!({"email": "new@example.com", "password": "12345678"}).to_string(),
            None,
        ),
        ("/api/v1/auth/guest", String::new(), None),
        ("/api/v1/auth/refresh", String::new(), Some(&user)),
        ("/api/v1/auth/logout", String::new(), Some(&user)),
    ];
    for (path, payload, bearer) in &cases {
        for content_type in ["text/plain", "application/x-www-form-urlencoded", "application/json"] {
            for (header, value) in [
                ("origin", "https://evil.example"),
                ("origin", "null"),
                ("sec-fetch-site", "cross-site"),
            ] {
                let mut r = app
                    .http
                    .post(app.url(path))
                    .header("content-type", content_type)
                    .header(header, value)
                    .body(payload.clone());
                if let Some(t) = bearer {
                    r = r.bearer_auth(t);
                }
                let r = r.send().await.unwrap();
                assert!(r.headers().get("set-cookie").is_none(), "{path} from {value}");
                expect_error(r, 403, "FORBIDDEN").await;
            }
        }
    }
    // From Brook's own pages, and from clients without a browser, they work.
    let r = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("origin", format!("http://{}", app.addr))
        .json(&json!({"email": email, "password": "attacker's password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("set-cookie").is_some());
    let r = app.post("/api/v1/auth/guest", None, json!({})).await;
    assert_eq!(r.status(), 201);
}

/// The text a client can see of a failed reply on each surface.
async fn client_texts(app: &TestApp, token: &str) -> Vec<String> {
    let mut texts = Vec::new();
    let mut ws = app.ws_authed(token).await;
    let ack = ws.message("fail please", None, None).await;
    let c = ws.collect(ack["reply_id"].as_str().unwrap()).await;
    texts.extend(c.frames.iter().map(|f| f.to_string()));
    texts
}

async fn upstream_error_bodies_never_reach_clients(b: Backend) {
    let Some(app) =
        spawn_app(AppOptions::new(b).config(|c| c.upstream_first_token = std::time::Duration::from_secs(2))).await
    else {
        return;
    };
    let token = app.user_token().await;
    let leaks = [
        "fake upstream error",
        "upstream answered",
        "not json",
        "127.0.0.1",
        "for url",
    ];
    let failures = [
        Behaviour::status(401, None),
        Behaviour::status(400, None),
        Behaviour::status(404, None),
        Behaviour::status(500, None),
        Behaviour::tokens(6).malformed_after(2),
    ];
    for f in failures {
        // Every attempt (retries included) fails alike.
        app.upstream().set_default(f.clone());
        let all = client_texts(&app, &token).await.join("\n");
        assert!(all.contains("UPSTREAM_ERROR"), "{all}");
        for leak in leaks {
            assert!(!all.contains(leak), "{leak:?} reached the client: {all}");
        }
        // The plain JSON endpoint and the AI SDK stream say the same.
        let r = app
            .post("/api/v1/chat", Some(&token), json!({"message": "again"}))
            .await;
        let text = r.text().await.unwrap();
        assert!(text.contains("UPSTREAM_ERROR"), "{text}");
        for leak in leaks {
            assert!(!text.contains(leak), "{leak:?} in {text}");
        }
        let r = app
            .post("/api/v1/chat/stream", Some(&token), json!({"message": "sdk"}))
            .await;
        let text = r.text().await.unwrap();
        assert!(text.contains("\"error\""), "{text}");
        for leak in leaks {
            assert!(!text.contains(leak), "{leak:?} in {text}");
        }
    }
    app.upstream().set_default(Behaviour::tokens(5));
}

async fn server_functions_answer_with_the_contracts_status(b: Backend) {
    let Some(app) = app(b).await else { return };
    let pair = cookie(&app).await;
    let origin = format!("http://{}", app.addr);
    // The server function's path carries a hash: look it up among those registered.
    let path = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_string())
        .find(|p| p.contains("load_visitor_conversations"))
        .expect("the server function is registered");
    let r = app
        .http
        .post(app.url(&path))
        .header("cookie", &pair)
        .header("origin", &origin)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("bot_id=no-such-bot")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "{}", r.text().await.unwrap());
    // Without a session: 401, not 500.
    let r = app
        .http
        .post(app.url(&path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("bot_id=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

/// §4.10: a text frame that is not UTF-8 closes the connection with 1007, before
/// and after authentication alike, and the server keeps serving.
async fn invalid_utf8_closes_with_1007(b: Backend) {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::Message;
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    for authed in [false, true] {
        let mut ws = if authed {
            app.ws_authed(&token).await
        } else {
            app.ws("/ws/chat").await
        };
        let bad = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
        ws.send_raw(Message::Frame(bad)).await;
        while ws.recv().await.is_some() {}
        assert_eq!(ws.closed, Some(1007), "authenticated: {authed}");
    }
    let mut ws = app.ws_authed(&token).await;
    ws.send(json!({"type": "ping", "ts": 1})).await;
    assert_eq!(ws.recv_type("pong").await["ts"], 1);
}
