//! One client-IP rule for every transport (issue 12): behind two trusted
//! proxies, a guest's address is the nearest untrusted entry of
//! `X-Forwarded-For`, on the WebSocket upgrade exactly as on HTTP requests. So
//! two guests behind the same inner proxy do not share a bucket, and one guest
//! cannot escape its bucket by changing transport.

use crate::helpers::*;
use crate::sqlite_only;

sqlite_only!(behind_two_proxies_websocket_and_http_share_the_clients_bucket);

const QUOTA: u64 = 40;

/// `client, inner proxy`: what the outer proxy (the loopback peer) forwards.
const ALICE: &str = "203.0.113.7, 10.1.2.3";
const BOB: &str = "198.51.100.9, 10.1.2.3";

async fn guest(app: &TestApp, forwarded_for: &str) -> String {
    let r = app
        .http
        .post(app.url("/api/v1/auth/guest"))
        .header("X-Forwarded-For", forwarded_for)
        .send()
        .await
        .unwrap();
    let (s, v) = body(r).await;
    assert_eq!(s, 201, "{v}");
    v["token"].as_str().unwrap().to_string()
}

/// A WebSocket for `token`, opened through the two proxies.
async fn ws_via(app: &TestApp, token: &str, forwarded_for: &str) -> WsClient {
    let url = app.ws_url("/api/v1/chat/ws");
    WsClient::connect_with_headers(
        &url,
        &[
            ("authorization", format!("Bearer {token}")),
            ("x-forwarded-for", forwarded_for.to_string()),
        ],
    )
    .await
    .expect("websocket through the proxies")
}

async fn http_chat(app: &TestApp, token: &str, forwarded_for: &str) -> (u16, Value) {
    let r = app
        .http
        .post(app.url("/api/v1/chat"))
        .bearer_auth(token)
        .header("X-Forwarded-For", forwarded_for)
        .json(&json!({"message": "tell me everything"}))
        .send()
        .await
        .unwrap();
    body(r).await
}

async fn used_today(app: &TestApp, key: &str) -> u64 {
    let day = engine::time::utc_day(engine::time::now_micros());
    app.engine.store().usage(key, &day).await.unwrap() as u64
}

async fn behind_two_proxies_websocket_and_http_share_the_clients_bucket(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b).config(|c| {
        c.daily_tokens_guest = QUOTA;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap(), "10.0.0.0/8".parse().unwrap()];
    }))
    .await
    else {
        return;
    };
    app.upstream().set_default(Behaviour::pieces(
        (0..120).map(|i| format!("w{:02} ", i % 100)).collect(),
    ));

    // Alice spends her address's quota over the WebSocket…
    let first = guest(&app, ALICE).await;
    let mut ws = ws_via(&app, &first, ALICE).await;
    let ack = ws.message("tell me everything", None, None).await;
    let got = ws.collect(ack["reply_id"].as_str().unwrap()).await;
    let complete = got.complete.as_ref().expect("complete");
    assert_eq!(complete["metadata"]["finish_reason"], "length", "{complete}");
    // …counted against her own address, not the inner proxy's.
    assert!(used_today(&app, "ip:guest:203.0.113.7").await >= QUOTA);
    assert_eq!(used_today(&app, "ip:guest:10.1.2.3").await, 0);
    assert_eq!(used_today(&app, "ip:guest:127.0.0.1").await, 0);

    // A fresh guest from Alice's address is refused on HTTP: the same bucket.
    let second = guest(&app, ALICE).await;
    assert_error(&http_chat(&app, &second, ALICE).await, 429, "QUOTA_EXCEEDED");
    // And on a WebSocket.
    let mut ws2 = ws_via(&app, &second, ALICE).await;
    ws2.send(json!({"type": "message", "message": "more", "client_id": "c2"}))
        .await;
    let refused = ws2.recv_type("error").await;
    assert_eq!(refused["code"], "QUOTA_EXCEEDED", "{refused}");

    // Bob, behind the same inner proxy, has his own bucket on both transports.
    let bob = guest(&app, BOB).await;
    let mut ws3 = ws_via(&app, &bob, BOB).await;
    let ack = ws3.message("hello", None, None).await;
    let got = ws3.collect(ack["reply_id"].as_str().unwrap()).await;
    assert!(got.complete.is_some(), "{:?}", got.errors);
    let bob2 = guest(&app, BOB).await;
    let (s, v) = http_chat(&app, &bob2, BOB).await;
    assert_eq!(
        s, 429,
        "Bob's second guest shares Bob's bucket, spent by the first: {v}"
    );
    assert!(used_today(&app, "ip:guest:198.51.100.9").await >= QUOTA);
}
