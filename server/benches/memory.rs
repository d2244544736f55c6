//! Memory benchmark (issue 18): a release `brook` process against the testkit's
//! fake upstream, and its RSS fresh, at the peak, and some time after each
//! burst. It prints a table and asserts nothing (`make bench`).
//!
//! Bursts, in order, on one process:
//! 1. 256 registrations, 64 at a time (argon2id, 19 MiB each);
//! 2. 1,000 logins with wrong passwords, half for unknown emails, 64 at a time;
//! 3. 1,000 concurrent streams of 100 tokens (`BROOK_REPLY_LOG_SECS=0`);
//! 4. 10,000 idle authenticated WebSockets of 1,000 different guests.
//!
//! Knobs: `BROOK_BENCH_SETTLE_SECS` (default 30: the "after" wait),
//! `BROOK_BENCH_UNTUNED=1` (glibc without Brook's tuning, for the "before"
//! column), `--features jemalloc|mimalloc` (the other allocators), and an
//! argument naming one burst (`registrations`, `logins`, `streams`, `idle`).

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};
use testkit::ws::WsClient;
use testkit::{Behaviour, FakeUpstream};

const CONCURRENCY: usize = 64;

struct Brook {
    child: tokio::process::Child,
    addr: String,
    dir: std::path::PathBuf,
}

impl Drop for Brook {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Brook {
    fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

fn allocator() -> &'static str {
    if cfg!(feature = "jemalloc") {
        "jemalloc"
    } else if cfg!(feature = "mimalloc") {
        "mimalloc"
    } else if std::env::var_os("BROOK_BENCH_UNTUNED").is_some() {
        "glibc (untuned)"
    } else {
        "glibc (tuned)"
    }
}

async fn start_brook(upstream: &FakeUpstream) -> Brook {
    let dir = std::env::temp_dir().join(format!("brook-mem-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_brook"));
    cmd.env("DATABASE_URL", format!("sqlite://{}", dir.join("bench.db").display()))
        .env("LEPTOS_SITE_ADDR", &addr)
        .env("OPENAI_BASE_URL", upstream.base_url())
        .env("OPENAI_API_KEY", "bench")
        .env("BROOK_REPLY_LOG_SECS", "0")
        .env("BROOK_MAX_ACTIVE_REPLIES", "1000")
        .env("BROOK_RATE_LIMIT_PER_MIN", "0")
        .env("BROOK_AUTH_RATE_LIMIT_PER_MIN", "0")
        .env("BROOK_MAX_CONNECTIONS_PER_IDENTITY", "0")
        .env("BROOK_MAX_CONNECTIONS_PER_IP", "0")
        .env("BROOK_DAILY_TOKENS_GUEST", "0")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .kill_on_drop(true);
    if std::env::var_os("BROOK_BENCH_UNTUNED").is_some() {
        cmd.env("BROOK_MALLOC_UNTUNED", "1");
    }
    let child = cmd.spawn().expect("the release brook starts");
    for _ in 0..400 {
        if reqwest::get(format!("http://{addr}/health")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Brook { child, addr, dir }
}

fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn mb(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 * 1024.0 / 1e6)
}

/// Samples the RSS every 20 ms until dropped; `peak()` is the highest seen.
struct PeakWatch {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
}

impl PeakWatch {
    fn start(pid: u32) -> PeakWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_kib(pid)));
        let (s, p) = (stop.clone(), peak.clone());
        tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        PeakWatch { stop, peak }
    }
    fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

impl Drop for PeakWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn settle() -> Duration {
    Duration::from_secs(
        std::env::var("BROOK_BENCH_SETTLE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(30),
    )
}

/// One row: RSS before, at the peak, and after the settle time.
async fn measure<F, Fut>(brook: &Brook, name: &str, work: F) -> String
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let pid = brook.pid();
    let before = rss_kib(pid);
    let watch = PeakWatch::start(pid);
    let started = Instant::now();
    let outcome = work().await;
    let took = started.elapsed();
    tokio::time::sleep(settle()).await;
    let peak = watch.peak();
    drop(watch);
    let after = rss_kib(pid);
    format!(
        "| {name} | {} | {} | {} | {:.2}× | {outcome}, {:.1} s |",
        mb(before),
        mb(peak),
        mb(after),
        after as f64 / before.max(1) as f64,
        took.as_secs_f64()
    )
}

async fn statuses(results: Vec<u16>) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for s in results {
        *counts.entry(s).or_insert(0usize) += 1;
    }
    counts
        .iter()
        .map(|(s, n)| format!("{n}×{s}"))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn post_all(brook: &Brook, path: &str, bodies: Vec<Value>) -> Vec<u16> {
    let http = reqwest::Client::new();
    futures::stream::iter(bodies)
        .map(|b| {
            let r = http.post(brook.url(path)).json(&b).send();
            async move { r.await.map(|r| r.status().as_u16()).unwrap_or(0) }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await
}

async fn registrations(brook: &Brook) -> String {
    let bodies = (0..256)
        .map(|i| json!({"email": format!("m{i}@example.com"), "password": "memory benchmark"}))
        .collect();
    statuses(post_all(brook, "/api/v1/auth/register", bodies).await).await
}

async fn logins(brook: &Brook) -> String {
    let bodies = (0..1000)
        .map(|i| {
            let email = if i % 2 == 0 {
                format!("m{}@example.com", i % 256)
            } else {
                format!("nobody{i}@example.com")
            };
            json!({"email": email, "password": "wrong password"})
        })
        .collect();
    statuses(post_all(brook, "/api/v1/auth/login", bodies).await).await
}

async fn guests(brook: &Brook, n: usize) -> Vec<String> {
    let http = reqwest::Client::new();
    futures::stream::iter(0..n)
        .map(|_| {
            let r = http.post(brook.url("/api/v1/auth/guest")).send();
            async move {
                let v: Value = r.await.unwrap().json().await.unwrap();
                v["token"].as_str().unwrap().to_string()
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await
}

async fn streams(brook: &Brook, tokens: &[String]) -> String {
    // Each client sends as soon as it is connected and then keeps reading: a
    // client connected early but not read until the last one connects would
    // miss the server's pings on a loaded machine and be closed as dead.
    let done = futures::future::join_all(tokens.iter().map(|t| {
        let url = format!("ws://{}/ws/chat?token={t}", brook.addr);
        async move {
            let mut ws = WsClient::connect(&url).await.ok()?;
            ws.recv().await?;
            ws.send(json!({"type": "message", "message": "stream for the memory benchmark"}))
                .await;
            let ack = ws.recv_type("ack").await;
            let c = ws.collect(ack["reply_id"].as_str().unwrap_or_default()).await;
            Some(c.complete.is_some() && c.text() == c.response())
        }
    }))
    .await;
    format!(
        "{} of {} exact",
        done.iter().filter(|ok| **ok == Some(true)).count(),
        tokens.len()
    )
}

async fn idle(brook: &Brook, tokens: &[String], per_user: usize) -> String {
    let pid = brook.pid();
    let before = rss_kib(pid);
    let mut held = Vec::new();
    for round in 0..per_user {
        let opened = futures::stream::iter(tokens.iter())
            .map(|t| {
                let url = format!("ws://{}/ws/chat?token={t}", brook.addr);
                async move {
                    let mut ws = WsClient::connect(&url).await.ok()?;
                    ws.recv().await?;
                    Some(ws)
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        held.extend(opened.into_iter().flatten());
        if round == 0 {
            eprintln!("idle: {} connections open", held.len());
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid);
    let per = (after.saturating_sub(before)) as f64 * 1024.0 / held.len().max(1) as f64;
    let out = format!(
        "{} open, {:.0} B ({:.2} KB) per connection",
        held.len(),
        per,
        per / 1000.0
    );
    drop(held);
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("memory benchmark: run it with `make bench`");
        return;
    }
    engine::tls::install_crypto_provider();
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let upstream = FakeUpstream::start().await;
        upstream.set_default(Behaviour::tokens(100).delay(Duration::from_millis(50), Duration::from_millis(10)));
        let brook = start_brook(&upstream).await;
        let only = args.iter().skip(1).find(|a| !a.starts_with('-')).cloned();
        let run = |name: &str| only.as_deref().is_none_or(|o| o == name);
        println!(
            "\nmemory ({}; RSS of the brook process; 'after' = {} s after the burst)\n",
            allocator(),
            settle().as_secs()
        );
        println!("| burst | before | peak | after | after ÷ before | outcome |");
        println!("|---|---:|---:|---:|---:|---|");
        println!("| fresh | {} | | | | |", mb(rss_kib(brook.pid())));
        if run("registrations") || run("logins") {
            println!(
                "{}",
                measure(&brook, "256 registrations, 64 at once", || registrations(&brook)).await
            );
        }
        if run("logins") {
            println!(
                "{}",
                measure(&brook, "1,000 wrong logins, half unknown", || logins(&brook)).await
            );
        }
        let users = if run("streams") || run("idle") {
            guests(&brook, 1000).await
        } else {
            Vec::new()
        };
        if run("streams") {
            println!(
                "{}",
                measure(&brook, "1,000 concurrent streams", || streams(&brook, &users)).await
            );
        }
        if run("idle") {
            let per_user = 10;
            println!(
                "{}",
                measure(&brook, "10,000 idle WebSockets, 1,000 users", || idle(
                    &brook, &users, per_user
                ))
                .await
            );
        }
    });
}
