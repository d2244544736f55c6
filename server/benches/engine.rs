//! Engine benchmarks: they print numbers; they do not assert (timing asserts are
//! flaky on shared machines). Run with `make bench`.
//!
//! 1. First-token overhead: the time a WebSocket client waits for its first token
//!    through Brook, minus the time the same async-openai client waits when it
//!    calls the fake upstream directly (p50 and p99 over many messages).
//! 2. Fan-out throughput: token frames per second delivered to joined connections.
//! 3. Memory per idle connection: the `brook` process's RSS growth per idle,
//!    authenticated WebSocket.

use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};
use testkit::ws::WsClient;
use testkit::{Behaviour, FakeUpstream};

struct Brook {
    child: tokio::process::Child,
    addr: String,
    _dir: tempdir::Dir,
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

async fn start_brook(upstream: &FakeUpstream) -> Brook {
    let dir = std::env::temp_dir().join(format!("brook-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_brook"))
        .env("DATABASE_URL", format!("sqlite://{}", dir.join("bench.db").display()))
        .env_remove("BROOK_PROVIDER")
        .env("LEPTOS_SITE_ADDR", &addr)
        .env("OPENAI_BASE_URL", upstream.base_url())
        .env("OPENAI_API_KEY", "bench")
        .env("BROOK_RATE_LIMIT_PER_MIN", "0")
        .env("BROOK_AUTH_RATE_LIMIT_PER_MIN", "0")
        .env("BROOK_MAX_CONNECTIONS_PER_IDENTITY", "0")
        .env("BROOK_MAX_CONNECTIONS_PER_IP", "0")
        // BROOK_BENCH_LOG=brook_engine=debug shows where the first token's time goes.
        .env(
            "RUST_LOG",
            std::env::var("BROOK_BENCH_LOG").unwrap_or_else(|_| "error".into()),
        )
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if reqwest::get(format!("http://{addr}/health")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Brook {
        child,
        addr,
        _dir: tempdir::Dir(dir),
    }
}

async fn token(addr: &str) -> String {
    let email = format!("b{}@example.com", uuid::Uuid::new_v4().simple());
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/api/v1/auth/register"))
        .json(&json!({"email": email, "password": "benchmark"}))
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

async fn first_token_overhead(upstream: &FakeUpstream, brook: &Brook, n: usize) {
    upstream.set_default(Behaviour::tokens(3));
    // Baseline: the same client library straight to the fake upstream.
    engine::tls::install_crypto_provider();
    let provider = engine::provider::openai::OpenAiProvider::new(&upstream.base_url(), Some("bench"));
    let mut direct = Vec::new();
    for _ in 0..n {
        use engine::provider::Provider;
        let req = engine::provider::CompletionRequest {
            model: "gpt-4o-mini".into(),
            temperature: None,
            turns: vec![engine::provider::Turn {
                role: engine::provider::TurnRole::User,
                content: "hi".into(),
            }],
            max_tokens: None,
            max_completion_tokens: None,
            stop: Vec::new(),
        };
        let t = Instant::now();
        let mut s = provider.stream(req).await.unwrap();
        while let Some(d) = s.next().await {
            if let Ok(engine::provider::Delta::Text(_)) = d {
                direct.push(t.elapsed().as_secs_f64() * 1000.0);
                break;
            }
        }
        while s.next().await.is_some() {}
    }
    let tok = token(&brook.addr).await;
    let mut ws = WsClient::connect(&format!("ws://{}/ws/chat?token={tok}", brook.addr))
        .await
        .unwrap();
    ws.recv().await.unwrap();
    let mut through = Vec::new();
    let mut acked = Vec::new();
    let mut to_upstream = Vec::new();
    let mut relay = Vec::new();
    for i in 0..n {
        let t = Instant::now();
        ws.send(json!({"type": "message", "message": "hi", "session_id": format!("ttft-{}", i % 50)}))
            .await;
        let mut reply = String::new();
        let mut ack_at = t;
        loop {
            let f = ws.recv().await.unwrap();
            match f["type"].as_str() {
                Some("ack") => {
                    ack_at = Instant::now();
                    acked.push((ack_at - t).as_secs_f64() * 1000.0);
                    reply = f["reply_id"].as_str().unwrap().to_string();
                }
                Some("token") if f["reply_id"] == reply.as_str() && f["seq"] == 1 => {
                    let now = Instant::now();
                    through.push((now - t).as_secs_f64() * 1000.0);
                    if let Some(sent) = upstream.last_first_chunk() {
                        relay.push((now - sent).as_secs_f64() * 1000.0);
                        // Negative when the upstream answered before the ack arrived.
                        to_upstream.push(if sent > ack_at {
                            (sent - ack_at).as_secs_f64() * 1000.0
                        } else {
                            -(ack_at - sent).as_secs_f64() * 1000.0
                        });
                    }
                }
                Some("complete") if f["reply_id"] == reply.as_str() => break,
                _ => {}
            }
        }
    }
    direct.sort_by(|a, b| a.partial_cmp(b).unwrap());
    through.sort_by(|a, b| a.partial_cmp(b).unwrap());
    relay.sort_by(|a, b| a.partial_cmp(b).unwrap());
    acked.sort_by(|a, b| a.partial_cmp(b).unwrap());
    to_upstream.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let (d50, d99) = (percentile(&direct, 0.5), percentile(&direct, 0.99));
    let (b50, b99) = (percentile(&through, 0.5), percentile(&through, 0.99));
    println!("first token, {n} messages (ms):");
    println!("  direct to the fake upstream   p50 {d50:.3}  p99 {d99:.3}");
    println!("  through Brook (WebSocket)     p50 {b50:.3}  p99 {b99:.3}");
    println!(
        "  overhead added by Brook       p50 {:.3}  p99 {:.3}  (includes the durable commit before ack)",
        b50 - d50,
        b99 - d99
    );
    println!(
        "  ack (message and queued reply committed)  p50 {:.3}  p99 {:.3}",
        percentile(&acked, 0.5),
        percentile(&acked, 0.99)
    );
    println!(
        "  ack -> upstream's first chunk sent        p50 {:.3}  p99 {:.3}",
        percentile(&to_upstream, 0.5),
        percentile(&to_upstream, 0.99)
    );
    println!(
        "  relay: upstream's first chunk -> client's first token frame  p50 {:.3}  p99 {:.3}",
        percentile(&relay, 0.5),
        percentile(&relay, 0.99)
    );
}

async fn fan_out(upstream: &FakeUpstream, brook: &Brook, subscribers: usize, tokens: usize) {
    upstream.set_default(Behaviour::tokens(tokens));
    let tok = token(&brook.addr).await;
    let mut sender = WsClient::connect(&format!("ws://{}/ws/chat?token={tok}", brook.addr))
        .await
        .unwrap();
    sender.recv().await.unwrap();
    // Create the conversation first, then join every subscriber.
    sender
        .send(json!({"type": "message", "message": "warm up", "session_id": "fan"}))
        .await;
    let warm = sender.recv_type("ack").await;
    sender.collect(warm["reply_id"].as_str().unwrap()).await;
    let mut subs = Vec::new();
    for _ in 0..subscribers {
        let mut ws = WsClient::connect(&format!("ws://{}/ws/chat?token={tok}", brook.addr))
            .await
            .unwrap();
        ws.recv().await.unwrap();
        ws.send(json!({"type": "join", "session_id": "fan"})).await;
        ws.recv_type("joined").await;
        subs.push(ws);
    }
    let start = Instant::now();
    sender
        .send(json!({"type": "message", "message": "go", "session_id": "fan"}))
        .await;
    let ack = sender.recv_type("ack").await;
    let reply = ack["reply_id"].as_str().unwrap().to_string();
    let mut handles = Vec::new();
    for mut ws in subs {
        let reply = reply.clone();
        handles.push(tokio::spawn(async move {
            let mut n = 0usize;
            while let Some(msg) = ws.stream.next().await {
                let Ok(tokio_tungstenite::tungstenite::Message::Text(t)) = msg else {
                    continue;
                };
                // Count without parsing every frame: the client must not be the bottleneck.
                if t.as_str().starts_with("{\"type\":\"token\"") {
                    n += 1;
                } else if t.as_str().contains("\"type\":\"complete\"") && t.as_str().contains(&reply) {
                    break;
                }
            }
            n
        }));
    }
    let c = sender.collect(&reply).await;
    let mut delivered = c.tokens.len();
    for h in handles {
        delivered += h.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "fan-out: 1 reply of {tokens} tokens to {} connections: {delivered} token frames in {secs:.2} s = {:.0} frames/s",
        subscribers + 1,
        delivered as f64 / secs
    );
}

async fn idle_memory(brook: &Brook, n: usize) {
    let pid = brook.child.id().unwrap();
    let tok = token(&brook.addr).await;
    // Warm up allocator pools and the registry with a few connections first.
    let mut warm = Vec::new();
    for _ in 0..50 {
        let mut ws = WsClient::connect(&format!("ws://{}/ws/chat?token={tok}", brook.addr))
            .await
            .unwrap();
        ws.recv().await.unwrap();
        warm.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(pid);
    let mut conns = Vec::new();
    for _ in 0..n {
        let mut ws = WsClient::connect(&format!("ws://{}/ws/chat?token={tok}", brook.addr))
            .await
            .unwrap();
        ws.recv().await.unwrap();
        conns.push(ws);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(pid);
    println!(
        "idle connections: {n} authenticated WebSockets: RSS {before} KiB -> {after} KiB = {:.1} KiB per connection",
        (after.saturating_sub(before)) as f64 / n as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs benches as tests: only `cargo bench` (which
    // passes --bench) measures.
    if !args.iter().any(|a| a == "--bench") {
        println!("engine benchmarks: run them with `make bench`");
        return;
    }
    engine::tls::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let upstream = FakeUpstream::start().await;
        let brook = start_brook(&upstream).await;
        // `cargo bench --bench engine -- idle` runs one part only.
        let only = args.iter().skip(1).find(|a| !a.starts_with('-')).cloned();
        let run = |name: &str| only.as_deref().is_none_or(|o| o == name);
        if run("ttft") {
            first_token_overhead(&upstream, &brook, 400).await;
        }
        if run("fanout") {
            fan_out(&upstream, &brook, 20, 20_000).await;
        }
        if run("idle") {
            idle_memory(&brook, 3000).await;
        }
    });
}
