//! Accounts and tokens (contract §2).

use crate::both_backends;
use crate::helpers::*;

both_backends!(
    register_login_me_logout,
    validation_and_conflicts,
    guests,
    cookie_and_csrf,
    jwt_forgeries_are_rejected,
    auth_rate_limit,
    guests_off,
    tokens_survive_restart
);

async fn register_login_me_logout(b: Backend) {
    let Some(app) = app(b).await else { return };
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": "Ada@Example.com", "password": "analytical", "name": "Ada"}),
        )
        .await;
    let (status, v) = body(r).await;
    assert_eq!(status, 201, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    assert_eq!(v["user"]["email"], "ada@example.com");
    assert_eq!(v["user"]["name"], "Ada");

    let (s, me) = body(app.get("/api/v1/auth/me", Some(&token)).await).await;
    assert_eq!(s, 200);
    assert_eq!(me["role"], "user");
    assert_eq!(me["id"], v["user"]["id"]);

    let (s, login) = body(
        app.post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ada@example.com", "password": "analytical"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{login}");
    let wrong = body(
        app.post(
            "/api/v1/auth/login",
            None,
            json!({"email": "ada@example.com", "password": "nope nope"}),
        )
        .await,
    )
    .await;
    assert_error(&wrong, 401, "INVALID_CREDENTIALS");
    let unknown = body(
        app.post(
            "/api/v1/auth/login",
            None,
            json!({"email": "who@example.com", "password": "whatever1"}),
        )
        .await,
    )
    .await;
    assert_error(&unknown, 401, "INVALID_CREDENTIALS");

    // Refresh gives a working token; logout revokes the one used.
    let (s, fresh) = body(app.post("/api/v1/auth/refresh", Some(&token), json!({})).await).await;
    assert_eq!(s, 200);
    let fresh = fresh["token"].as_str().unwrap().to_string();
    let r = app.post("/api/v1/auth/logout", Some(&token), json!({})).await;
    assert_eq!(r.status(), 204);
    expect_error(app.get("/api/v1/auth/me", Some(&token)).await, 401, "AUTH_REQUIRED").await;
    assert_eq!(app.get("/api/v1/auth/me", Some(&fresh)).await.status(), 200);
    expect_error(app.get("/api/v1/auth/me", None).await, 401, "AUTH_REQUIRED").await;
}

async fn validation_and_conflicts(b: Backend) {
    let Some(app) = app(b).await else { return };
    app.register("taken@example.com").await;
    let dup = body(
        app.post(
            "/api/v1/auth/register",
            None,
            json!({"email": "TAKEN@example.com", "password": "12345678"}),
        )
        .await,
    )
    .await;
    assert_error(&dup, 409, "CONFLICT");
    let bad_email = body(
        app.post(
            "/api/v1/auth/register",
            None,
            json!({"email": "not-an-email", "password": "12345678"}),
        )
        .await,
    )
    .await;
    assert_error(&bad_email, 422, "VALIDATION_ERROR");
    let short = body(
        app.post(
            "/api/v1/auth/register",
            None,
            json!({"email": "a@b.co", "password": "1234567"}),
        )
        .await,
    )
    .await;
    assert_error(&short, 422, "VALIDATION_ERROR");
    let missing = body(
        app.post("/api/v1/auth/register", None, json!({"email": "a@b.co"}))
            .await,
    )
    .await;
    assert_error(&missing, 400, "INVALID_FRAME");
    let wrong_type = body(
        app.post(
            "/api/v1/auth/register",
            None,
            json!({"email": 5, "password": "12345678"}),
        )
        .await,
    )
    .await;
    assert_error(&wrong_type, 400, "INVALID_FRAME");
    let r = app
        .http
        .post(app.url("/api/v1/auth/register"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error(&body(r).await, 400, "INVALID_JSON");
    // Nothing above stored anything, and the server still answers.
    assert_eq!(app.get("/health", None).await.status(), 200);
}

async fn guests(b: Backend) {
    let Some(app) = app(b).await else { return };
    let (s, v) = body(app.post("/api/v1/auth/guest", None, json!({})).await).await;
    assert_eq!(s, 201, "{v}");
    assert!(v["user"]["email"].is_null());
    let token = v["token"].as_str().unwrap();
    let (_, me) = body(app.get("/api/v1/auth/me", Some(token)).await).await;
    assert_eq!(me["role"], "guest");
    // Every identity gets a default bot named Assistant.
    let (_, bots) = body(app.get("/api/v1/bots", Some(token)).await).await;
    assert_eq!(bots["bots"][0]["name"], "Assistant");
}

async fn guests_off(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b).config(|c| c.guests = false)).await else {
        return;
    };
    expect_error(app.post("/api/v1/auth/guest", None, json!({})).await, 403, "FORBIDDEN").await;
}

async fn cookie_and_csrf(b: Backend) {
    let Some(app) = app(b).await else { return };
    let pair = registered_cookie(&app).await;
    let origin = format!("http://{}", app.addr);
    // Reading with the cookie works.
    let r = app
        .http
        .get(app.url("/api/v1/auth/me"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    cookie_writes_need_json_and_our_origin(&app, &pair, &origin).await;
    bearer_writes_need_neither(&app).await;
    logout_clears_the_cookie(&app, &pair, &origin).await;
}

/// Registers `c@example.com` and returns its session cookie's `name=value`,
/// after checking the cookie's attributes.
async fn registered_cookie(app: &TestApp) -> String {
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": "c@example.com", "password": "12345678"}),
        )
        .await;
    let cookie = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(cookie.starts_with("brook_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    cookie.split(';').next().unwrap().to_string()
}

/// Changing state with the cookie needs JSON and our own Origin.
async fn cookie_writes_need_json_and_our_origin(app: &TestApp, pair: &str, origin: &str) {
    let post = |ct: Option<&str>, o: Option<&str>| {
        let mut r = app
            .http
            .post(app.url("/api/v1/bots"))
            .header("cookie", pair)
            .body(r#"{"name":"x"}"#);
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        if let Some(o) = o {
            r = r.header("origin", o);
        }
        r.send()
    };
    assert_error(
        &body(post(Some("text/plain"), Some(origin)).await.unwrap()).await,
        403,
        "FORBIDDEN",
    );
    assert_error(
        &body(
            post(Some("application/json"), Some("http://evil.example"))
                .await
                .unwrap(),
        )
        .await,
        403,
        "FORBIDDEN",
    );
    assert_error(
        &body(post(Some("application/json"), None).await.unwrap()).await,
        403,
        "FORBIDDEN",
    );
    let (s, v) = body(post(Some("application/json"), Some(origin)).await.unwrap()).await;
    assert_eq!(s, 201, "{v}");
}

/// Bearer requests read any content type as JSON and need no Origin.
async fn bearer_writes_need_neither(app: &TestApp) {
    let token = {
        let r = app
            .post(
                "/api/v1/auth/login",
                None,
                json!({"email": "c@example.com", "password": "12345678"}),
            )
            .await;
        body(r).await.1["token"].as_str().unwrap().to_string()
    };
    let r = app
        .http
        .post(app.url("/api/v1/bots"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body(r#"{"name":"y"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

/// Logout through the cookie clears it; the cookie then reads nothing.
async fn logout_clears_the_cookie(app: &TestApp, pair: &str, origin: &str) {
    let r = app
        .http
        .post(app.url("/api/v1/auth/logout"))
        .header("cookie", pair)
        .header("content-type", "application/json")
        .header("origin", origin)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let r = app
        .http
        .get(app.url("/api/v1/auth/me"))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

async fn jwt_forgeries_are_rejected(b: Backend) {
    use base64::Engine as _;
    let Some(app) = app(b).await else { return };
    let (token, user_id) = app.register("jwt@example.com").await;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": user_id, "role": "user", "iat": now, "exp": now + 3600, "jti": "x"});
    let none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), b64(&claims.to_string()));
    let other_key = engine::auth::Keys::new(b"some-other-secret-some-other-sec");
    let wrong_key = other_key.encode(&serde_json::from_value(claims.clone()).unwrap());
    let expired = app.engine.accounts.keys().encode(
        &serde_json::from_value(
            json!({"sub": user_id, "role": "user", "iat": now - 7200, "exp": now - 3600, "jti": "y"}),
        )
        .unwrap(),
    );
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    parts[1] =
        b64(&json!({"sub": "someone-else", "role": "user", "iat": now, "exp": now + 3600, "jti": "z"}).to_string());
    let tampered = parts.join(".");
    for (what, t) in [
        ("alg none", none),
        ("wrong key", wrong_key),
        ("expired", expired),
        ("tampered", tampered),
        ("garbage", "abc.def.ghi".to_string()),
    ] {
        let got = body(app.get("/api/v1/auth/me", Some(&t)).await).await;
        assert_eq!(got.0, 401, "{what}: {}", got.1);
        assert_eq!(got.1["code"], "AUTH_REQUIRED", "{what}");
        // The WebSocket refuses it too.
        let mut ws = app.ws("/ws/chat").await;
        ws.send(json!({"type": "auth", "token": t})).await;
        let a = ws.recv().await.unwrap();
        assert_eq!(a["type"], "auth_error", "{what}");
        assert_eq!(a["message"], "Invalid token");
    }
    assert_eq!(app.get("/api/v1/auth/me", Some(&token)).await.status(), 200);
}

async fn auth_rate_limit(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b).config(|c| c.auth_rate_limit_per_min = 3)).await else {
        return;
    };
    for i in 0..3 {
        let r = app
            .post(
                "/api/v1/auth/login",
                None,
                json!({"email": format!("{i}@x.io"), "password": "12345678"}),
            )
            .await;
        assert_eq!(r.status(), 401);
    }
    let r = app.post("/api/v1/auth/guest", None, json!({})).await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_error(&body(r).await, 429, "RATE_LIMITED");
}

async fn tokens_survive_restart(b: Backend) {
    let Some(mut app) = app(b).await else { return };
    let (token, _) = app.register("persist@example.com").await;
    let config = app.config.clone();
    app.shutdown().await;
    let running = brook_server::serve::spawn(config).await.unwrap();
    let r = reqwest::Client::new()
        .get(format!("http://{}/api/v1/auth/me", running.addr))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the generated secret was stored and reused");
    running.shutdown.cancel();
}
