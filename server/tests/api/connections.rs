//! Connections that never finish cannot hold the node hostage (issue 11 §3):
//! real sockets against the real server, with the time-outs shortened by
//! settings (never by sleeping the defaults out).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::*;
use crate::sqlite_only;

sqlite_only!(
    idle_slow_and_stalled_connections_are_closed_in_time,
    streams_and_websockets_outlive_the_header_timeout,
    one_address_holds_at_most_its_cap_and_others_keep_working,
    behind_a_trusted_proxy_the_cap_counts_forwarded_clients
);

/// A connection from a given loopback address (Linux routes all of 127/8 to lo),
/// so a test can play a second client.
pub async fn connect_from(from: [u8; 4], to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::from((from, 0)))?;
    s.connect(to).await
}

/// Reads until the server closes the connection; `Some(elapsed)` if it did
/// within `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.checked_sub(start.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => continue,
        }
    }
}

async fn app_with_timeouts(b: Backend, header: u64, body: u64, per_ip: usize) -> Option<TestApp> {
    spawn_app(AppOptions::new(b).config(move |c| {
        c.connections.header_timeout = Duration::from_secs(header);
        c.connections.body_timeout = Duration::from_secs(body);
        c.connections.max_per_ip = per_ip;
    }))
    .await
}

async fn idle_slow_and_stalled_connections_are_closed_in_time(b: Backend) {
    let Some(app) = app_with_timeouts(b, 1, 1, 0).await else {
        return;
    };
    let limit = Duration::from_secs(6);

    // 1,000 connections that send nothing.
    let mut idle = Vec::new();
    for _ in 0..1000 {
        idle.push(TcpStream::connect(app.addr).await.expect("connect"));
    }
    // Slowloris: a request head, one header line at a time, never finished;
    // the same with a WebSocket upgrade's head.
    let mut trickling = Vec::new();
    for i in 0..40 {
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        let head = if i % 2 == 0 {
            "GET /health HTTP/1.1\r\nHost: x\r\n".to_string()
        } else {
            "GET /ws/chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n".to_string()
        };
        s.write_all(head.as_bytes()).await.unwrap();
        let (mut r, mut w) = s.into_split();
        let feeder = tokio::spawn(async move {
            for n in 0..100 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if w.write_all(format!("X-Slow-{n}: 1\r\n").as_bytes()).await.is_err() {
                    return;
                }
            }
        });
        trickling.push((
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let start = Instant::now();
                loop {
                    match tokio::time::timeout(Duration::from_secs(6), r.read(&mut buf)).await {
                        Err(_) => return None,
                        Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
                        Ok(Ok(_)) => {}
                    }
                }
            }),
            feeder,
        ));
    }
    // Stalled bodies: a complete head announcing 100 bytes, then 10 and silence.
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        s.write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":",
        )
        .await
        .unwrap();
        stalled.push(s);
    }
    // A keep-alive connection that asked once and then went quiet.
    let mut keep_alive = TcpStream::connect(app.addr).await.unwrap();
    keep_alive
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 512];
    let n = keep_alive.read(&mut first).await.unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));

    for (i, s) in idle.iter_mut().enumerate() {
        assert!(
            closed_within(s, limit).await.is_some(),
            "idle connection {i} still open"
        );
    }
    for (i, (reader, feeder)) in trickling.into_iter().enumerate() {
        let closed = reader.await.unwrap();
        feeder.abort();
        assert!(closed.is_some(), "slowloris connection {i} still open");
    }
    for (i, s) in stalled.iter_mut().enumerate() {
        assert!(closed_within(s, limit).await.is_some(), "stalled body {i} still open");
    }
    assert!(
        closed_within(&mut keep_alive, limit).await.is_some(),
        "an idle keep-alive connection is closed too"
    );
    // The server is fine.
    assert_eq!(app.get("/health", None).await.status(), 200);
}

async fn streams_and_websockets_outlive_the_header_timeout(b: Backend) {
    let Some(app) = app_with_timeouts(b, 1, 1, 0).await else {
        return;
    };
    let token = app.user_token().await;
    // A reply that takes about 3 s: longer than the header time-out.
    app.upstream()
        .push(Behaviour::tokens(10).delay(Duration::from_millis(300), Duration::from_millis(300)));
    let mut ws = app.ws_authed(&token).await;
    let ack = ws.message("slow please", None, None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    // A long poll held for 2.5 s on its own connection.
    let started = Instant::now();
    let r = app
        .get(
            &format!("/api/v1/chat/replies/{reply_id}/poll?after_seq=1000&wait_ms=2500"),
            Some(&token),
        )
        .await;
    assert_eq!(r.status(), 200, "the long poll answered");
    assert!(started.elapsed() >= Duration::from_millis(1500), "it was held, not cut");
    // The WebSocket stayed open and received every token.
    let c = ws.collect(&reply_id).await;
    assert_eq!(c.response(), "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 ");
    assert_eq!(c.text(), c.response());
}

async fn one_address_holds_at_most_its_cap_and_others_keep_working(b: Backend) {
    let Some(app) = app_with_timeouts(b, 30, 10, 50).await else {
        return;
    };
    let token = app.user_token().await;
    app.upstream()
        .push(Behaviour::tokens(20).delay(Duration::from_millis(100), Duration::from_millis(100)));
    let mut ws = app.ws_authed(&token).await;
    let ack = ws.message("keep streaming", None, None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();

    // Another client (127.0.0.2) opens as many connections as it can.
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..200 {
        let mut s = connect_from([127, 0, 0, 2], app.addr).await.unwrap();
        if closed_within(&mut s, Duration::from_millis(300)).await.is_some() {
            refused += 1;
        } else {
            held.push(s);
        }
    }
    assert_eq!(held.len(), 50, "the cap holds ({refused} refused)");
    assert_eq!(refused, 150);
    // Everyone else is served: /health, a new login, and the running stream.
    for _ in 0..5 {
        assert_eq!(app.get("/health", None).await.status(), 200);
    }
    let c = ws.collect(&reply_id).await;
    assert_eq!(c.response(), Behaviour::tokens(20).text());
    // A slot given back can be used again.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = connect_from([127, 0, 0, 2], app.addr).await.unwrap();
    assert!(closed_within(&mut again, Duration::from_millis(300)).await.is_none());
}

async fn behind_a_trusted_proxy_the_cap_counts_forwarded_clients(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b).config(|c| {
        c.connections.max_per_ip = 2;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    }))
    .await
    else {
        return;
    };
    let poll = |from: &'static str| {
        // A held request (the diagnostics long poll), on a fresh TCP connection
        // through "the proxy".
        let url = app.url("/api/v1/diagnostics/poll?wait_ms=1500");
        async move {
            reqwest::Client::new()
                .get(url)
                .header("x-forwarded-for", from)
                .send()
                .await
                .unwrap()
        }
    };
    // The proxy's own TCP connections are not capped: many plain requests pass.
    for _ in 0..10 {
        let r = app
            .http
            .get(app.url("/health"))
            .header("x-forwarded-for", "203.0.113.7")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // Two long polls of one forwarded client are held; the third is refused.
    let a = tokio::spawn(poll("203.0.113.7"));
    let b2 = tokio::spawn(poll("203.0.113.7"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let third = poll("203.0.113.7").await;
    expect_error(third, 429, "RATE_LIMITED").await;
    // Another forwarded client is not affected.
    assert_eq!(poll("198.51.100.9").await.status(), 200);
    assert_eq!(a.await.unwrap().status(), 200);
    assert_eq!(b2.await.unwrap().status(), 200);
    // Their slots came back.
    assert_eq!(poll("203.0.113.7").await.status(), 200);
}
