//! Issue 11 §4.6: daily token quotas hold. A reply stops when the quota runs out
//! mid-stream (`finish_reason` `length`); guests and visitors share a quota per
//! client IP (behind the trusted-proxy rule), so fresh identities do not buy
//! fresh quota; several replies at once do not overshoot either.

use crate::both_backends;
use crate::helpers::*;

both_backends!(
    a_reply_stops_when_the_quota_runs_out,
    fresh_identities_share_their_ips_quota
);

const QUOTA: u64 = 50;

/// 150 one-token pieces (`estimate_tokens` counts four characters as a token).
fn long_reply() -> Behaviour {
    Behaviour::pieces((0..150).map(|i| format!("w{:02} ", i % 100)).collect())
}

fn completion_tokens(reply: &Value) -> u64 {
    reply["metadata"]["usage"]["completion_tokens"].as_u64().unwrap()
}

async fn guest(app: &TestApp, forwarded_for: Option<&str>) -> String {
    let mut r = app.http.post(app.url("/api/v1/auth/guest"));
    if let Some(f) = forwarded_for {
        r = r.header("X-Forwarded-For", f);
    }
    let (s, v) = body(r.send().await.unwrap()).await;
    assert_eq!(s, 201, "{v}");
    v["token"].as_str().unwrap().to_string()
}

/// A new visitor of the bot with `key`, behind the trusted proxy at 203.0.113.7.
async fn visitor(app: &TestApp, key: &str) -> String {
    let r = app
        .http
        .post(app.url("/api/v1/widget/session"))
        .header("Origin", "https://shop.example")
        .header("X-Forwarded-For", "203.0.113.7")
        .json(&json!({"bot_key": key}))
        .send()
        .await
        .unwrap();
    let (s, v) = body(r).await;
    assert_eq!(s, 200, "{v}");
    v["token"].as_str().unwrap().to_string()
}

async fn chat(app: &TestApp, token: &str, forwarded_for: Option<&str>) -> (u16, Value) {
    let mut r = app
        .http
        .post(app.url("/api/v1/chat"))
        .bearer_auth(token)
        .json(&json!({"message": "tell me everything"}));
    if let Some(f) = forwarded_for {
        r = r.header("X-Forwarded-For", f);
    }
    body(r.send().await.unwrap()).await
}

async fn used_today(app: &TestApp, key: &str) -> u64 {
    let day = engine::time::utc_day(engine::time::now_micros());
    app.engine.store().usage(key, &day).await.unwrap() as u64
}

async fn a_reply_stops_when_the_quota_runs_out(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b).config(|c| {
        c.daily_tokens_guest = QUOTA;
        c.daily_tokens_user = QUOTA;
    }))
    .await
    else {
        return;
    };
    app.upstream().set_default(long_reply());
    for token in [guest(&app, None).await, app.user_token().await] {
        // Over the WebSocket, so the tokens can be checked against `complete`.
        let mut ws = app.ws_authed(&token).await;
        let ack = ws.message("tell me everything", None, None).await;
        let got = ws.collect(ack["reply_id"].as_str().unwrap()).await;
        let complete = got.complete.as_ref().unwrap();
        assert_eq!(complete["metadata"]["finish_reason"], "length", "{complete}");
        assert_eq!(got.text(), got.response(), "tokens and complete agree");
        let spent = completion_tokens(complete);
        // At most the one delta that crossed the line (each piece is one token).
        assert!(
            (QUOTA..=QUOTA + 1).contains(&spent),
            "{spent} tokens for a quota of {QUOTA}"
        );
        assert!(got.response().len() < long_reply().text().len());

        // Spent: the next message is refused before anything is stored.
        ws.send(json!({"type": "message", "message": "more", "client_id": "after"}))
            .await;
        let refused = ws.recv_type("error").await;
        assert_eq!(refused["code"], "QUOTA_EXCEEDED", "{refused}");
        let (s, v) = chat(&app, &token, None).await;
        assert_error(&(s, v), 429, "QUOTA_EXCEEDED");
    }
}

async fn fresh_identities_share_their_ips_quota(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b).config(|c| {
        c.daily_tokens_guest = QUOTA;
        c.daily_tokens_visitor = QUOTA;
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    }))
    .await
    else {
        return;
    };
    app.upstream().set_default(long_reply());

    // Three fresh guests behind the same address: the first spends the quota.
    let ip = Some("203.0.113.7");
    let first = guest(&app, ip).await;
    let (s, v) = chat(&app, &first, ip).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["metadata"]["finish_reason"], "length");
    for _ in 0..2 {
        let fresh = guest(&app, ip).await;
        let got = chat(&app, &fresh, ip).await;
        assert_error(&got, 429, "QUOTA_EXCEEDED");
    }
    assert!(used_today(&app, "ip:guest:203.0.113.7").await <= QUOTA + 1);

    // Another address behind the trusted proxy has its own quota…
    let elsewhere = guest(&app, Some("198.51.100.1")).await;
    let (s, v) = chat(&app, &elsewhere, Some("198.51.100.1")).await;
    assert_eq!(s, 200, "{v}");

    // …and so do visitors, counted apart from guests, but again one per address.
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
    let key = bot["widget"]["public_key"].as_str().unwrap().to_string();
    let (v1, v2) = (visitor(&app, &key).await, visitor(&app, &key).await);
    let (s, v) = chat(&app, &v1, ip).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["metadata"]["finish_reason"], "length");
    assert_error(&chat(&app, &v2, ip).await, 429, "QUOTA_EXCEEDED");

    // Four replies at once, in four conversations, from one new address: together
    // they stay within the quota (each may overshoot by its last delta).
    app.upstream()
        .set_default(long_reply().delay(std::time::Duration::ZERO, std::time::Duration::from_millis(5)));
    let at_once = Some("192.0.2.44");
    let g = guest(&app, at_once).await;
    let sends = (0..4).map(|i| {
        let (app, g) = (&app, &g);
        async move {
            let r = app
                .http
                .post(app.url("/api/v1/chat"))
                .bearer_auth(g)
                .header("X-Forwarded-For", "192.0.2.44")
                .json(&json!({"message": "go", "session_id": format!("c{i}")}))
                .send()
                .await
                .unwrap();
            body(r).await
        }
    });
    let replies = futures::future::join_all(sends).await;
    let total: u64 = replies
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, v)| completion_tokens(v))
        .sum();
    assert!(total <= QUOTA + 4, "{total} tokens for a quota of {QUOTA}");
    assert!(used_today(&app, "ip:guest:192.0.2.44").await <= QUOTA + 4);
}
