//! Scenarios that only Brook has: connect, ack latency, idle memory per
//! connection, cold start to `/ready`.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};

use crate::clients::{guest, ms, ws_connect, Session, Target};
use crate::load::sessions;
use crate::procs::{clk_tck, cpu_ticks, loadavg, rss_kib, start_brook, BrookSpec, Upstream};
use crate::stats::Summary;

/// Guest tokens, `n` of them, 64 requests at a time.
async fn guests(http: &reqwest::Client, base: &str, n: usize) -> Result<Vec<String>, String> {
    futures::stream::iter(0..n)
        .map(|_| guest(http, base))
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// WebSocket upgrade + `auth_success`: `seq` one after another, then `conc` at once.
pub async fn connect(brook: &Target, http: &reqwest::Client, seq: usize, conc: usize) -> Result<Value, String> {
    let tokens = guests(http, &brook.url, 20).await?;
    let mut one = Vec::new();
    for i in 0..seq {
        let t = Instant::now();
        let ws = ws_connect(&brook.url, &tokens[i % tokens.len()], None).await?;
        one.push(ms(t.elapsed()));
        drop(ws);
    }
    let load = loadavg();
    let at_once: Vec<Result<(f64, _), String>> = futures::future::join_all((0..conc).map(|i| {
        let t = &tokens[i % tokens.len()];
        async move {
            let start = Instant::now();
            let ws = ws_connect(&brook.url, t, None).await?;
            Ok((ms(start.elapsed()), ws))
        }
    }))
    .await;
    let failed = at_once.iter().filter(|r| r.is_err()).count();
    let times = at_once.into_iter().filter_map(|r| r.ok().map(|(t, _)| t)).collect();
    let (one, many) = (Summary::of(one), Summary::of(times));
    println!("\n### Connect (WebSocket upgrade to `auth_success`, load average {load:.1})\n");
    println!("| pattern | n | p50 | p90 | p99 | max |\n|---|---:|---:|---:|---:|---:|");
    println!("| one after another | {} | {} |", one.n, one.cells());
    println!("| {conc} at once ({failed} failed) | {} | {} |", many.n, many.cells());
    Ok(
        json!({"sequential": one.json(), "concurrent": many.json(), "concurrent_n": conc, "failed": failed, "load_average": load}),
    )
}

/// `ack` latency over the WebSocket: `rate` messages/s for `secs` over a pool
/// of connections, then `burst` connections sending one message each at once.
pub async fn ack(
    brook: &Target,
    up: &Upstream,
    http: &reqwest::Client,
    rate: usize,
    secs: u64,
    burst: usize,
    db: &str,
) -> Result<Value, String> {
    up.set(http, 5, 0).await?;
    let at_rate = ack_at_rate(brook, http, rate, secs).await;
    let at_once = ack_burst(brook, http, burst).await;
    println!("\n### Ack latency over the WebSocket ({db}; replies of 5 tokens, no delay)\n");
    println!("| pattern | measure | n | p50 | p90 | p99 | max | failed | load |\n|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (pattern, r) in [
        (format!("{rate} messages/s for {secs} s"), &at_rate),
        (format!("{burst} at once"), &at_once),
    ] {
        println!(
            "| {pattern} | ack | {} | {} | {} | {:.1} |",
            r.ack.n,
            r.ack.cells(),
            r.failed,
            r.load
        );
        println!("| {pattern} | first token | {} | {} | | |", r.ttft.n, r.ttft.cells());
    }
    Ok(json!({
        "database": db, "rate": rate, "secs": secs, "rate_ack": at_rate.ack.json(), "rate_ttft": at_rate.ttft.json(),
        "rate_failed": at_rate.failed, "burst": burst, "burst_ack": at_once.ack.json(), "burst_ttft": at_once.ttft.json(),
        "burst_failed": at_once.failed, "load_average": [at_rate.load, at_once.load],
    }))
}

/// One ack pattern's figures, in ms.
struct Acks {
    ack: Summary,
    ttft: Summary,
    failed: usize,
    /// The load average when the pattern started.
    load: f64,
}

/// `rate` messages/s for `secs` over a pool of 256 connections; a message
/// waiting for a free connection counts its wait in its times.
async fn ack_at_rate(brook: &Target, http: &reqwest::Client, rate: usize, secs: u64) -> Acks {
    let (pool, _) = sessions(brook, http, 256).await;
    let (tx, rx) = tokio::sync::mpsc::channel(pool.len().max(1));
    for s in pool {
        let _ = tx.try_send(s);
    }
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let load = loadavg();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for j in 0..rate * secs as usize {
        let at = start + Duration::from_secs_f64(j as f64 / rate as f64);
        tokio::time::sleep_until(at.into()).await;
        let (tx, rx, http) = (tx.clone(), rx.clone(), http.clone());
        tasks.push(tokio::spawn(async move {
            let mut s: Session = rx.lock().await.recv().await?;
            let sample = s.request(&http, "ack latency", 5, Duration::from_secs(30)).await;
            let _ = tx.send(s).await;
            let queued = ms(Instant::now().saturating_duration_since(at)) - sample.total_ms;
            Some((
                sample.ack_ms.map(|a| a + queued.max(0.0)),
                sample.ttft_ms.map(|t| t + queued.max(0.0)),
                sample.ok,
            ))
        }));
    }
    let mut acks = Vec::new();
    let mut ttfts = Vec::new();
    let mut failed = 0;
    for t in tasks {
        match t.await {
            Ok(Some((a, f, ok))) => {
                acks.extend(a);
                ttfts.extend(f);
                failed += usize::from(!ok);
            }
            _ => failed += 1,
        }
    }
    Acks {
        ack: Summary::of(acks),
        ttft: Summary::of(ttfts),
        failed,
        load,
    }
}

/// `burst` connections, every one open first, then one message each at once.
async fn ack_burst(brook: &Target, http: &reqwest::Client, burst: usize) -> Acks {
    let (many, _) = sessions(brook, http, burst).await;
    let load = loadavg();
    let barrier = Arc::new(tokio::sync::Barrier::new(many.len()));
    let out = futures::future::join_all(many.into_iter().map(|mut s| {
        let (b, http) = (barrier.clone(), http.clone());
        async move {
            b.wait().await;
            s.request(&http, "ack burst", 5, Duration::from_secs(60)).await
        }
    }))
    .await;
    Acks {
        ack: Summary::of(out.iter().filter_map(|s| s.ack_ms).collect()),
        ttft: Summary::of(out.iter().filter_map(|s| s.ttft_ms).collect()),
        failed: out.iter().filter(|s| !s.ok).count(),
        load,
    }
}

/// RSS slope between `low` and `high` idle authenticated WebSockets, spread
/// over loopback source addresses 127.0.0.1, .2, … every 10,000 connections (each address has its own ~28,000 ephemeral ports);
/// then Brook's CPU over 5 s while they stay open.
pub async fn idle(brook: &Target, http: &reqwest::Client, low: usize, high: usize) -> Result<Value, String> {
    let pid = brook.pid.ok_or("idle memory needs a brook started here (its pid)")?;
    let tokens = guests(http, &brook.url, 50).await?;
    let open = |from: usize, to: usize| {
        let tokens = &tokens;
        futures::stream::iter(from..to)
            .map(move |i| {
                let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (i / 10_000) as u8));
                ws_connect(&brook.url, &tokens[i % tokens.len()], Some(source))
            })
            .buffer_unordered(100)
            .collect::<Vec<_>>()
    };
    let first = open(0, low).await;
    let mut held: Vec<_> = first.into_iter().filter_map(Result::ok).collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (n1, rss1) = (held.len(), rss_kib(pid));
    let more = open(low, high).await;
    let errors: Vec<String> = more.iter().filter_map(|r| r.as_ref().err().cloned()).take(1).collect();
    held.extend(more.into_iter().filter_map(Result::ok));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (n2, rss2) = (held.len(), rss_kib(pid));
    // What the server says it holds: it may have shed connections the client has not noticed.
    let server_held = gauge(http, &brook.url, "brook_connections").await;
    let t0 = cpu_ticks(pid);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let cpu_pct = cpu_ticks(pid).saturating_sub(t0) as f64 / clk_tck() / 5.0 * 100.0;
    let per = (rss2 as f64 - rss1 as f64) * 1024.0 / (n2 as f64 - n1 as f64).max(1.0);
    println!(
        "\n### Idle memory per WebSocket (RSS slope, load average {:.1})\n",
        loadavg()
    );
    println!("| connections | RSS | per connection | brook CPU while idle | server's `brook_connections` |\n|---|---:|---:|---:|---:|");
    println!(
        "| {n1} → {n2} | {:.1} → {:.1} MB | {:.0} B ({:.2} KB) | {cpu_pct:.1} % of a core | {} |",
        rss1 as f64 / 976.5625,
        rss2 as f64 / 976.5625,
        per,
        per / 1000.0,
        server_held.map_or("—".to_string(), |n| n.to_string())
    );
    if let Some(e) = errors.first() {
        println!("\n(some connections failed: {e})");
    }
    drop(held);
    Ok(
        json!({"low": n1, "high": n2, "rss_low_kib": rss1, "rss_high_kib": rss2, "bytes_per_connection": per, "idle_cpu_percent": cpu_pct, "server_connections": server_held}),
    )
}

/// A metric of the server's `GET /metrics` (Prometheus text), if it answers.
async fn gauge(http: &reqwest::Client, base: &str, name: &str) -> Option<u64> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    // Summed over its labels (`brook_connections{transport="ws"} 12`).
    let values: Vec<f64> = text
        .lines()
        .filter_map(|l| l.strip_prefix(name))
        .filter(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        .filter_map(|rest| rest.split_whitespace().last()?.parse().ok())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() as u64)
}

/// Starts `brook` `runs` times on a fresh database: spawn to `/ready` 200.
pub async fn cold_start(spec: &BrookSpec<'_>, http: &reqwest::Client, runs: usize) -> Result<Value, String> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let (proc, _, took) = start_brook(spec, http).await?;
        times.push(ms(took));
        drop(proc);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let s = Summary::of(times);
    println!("\n### Cold start (spawn → `/ready` 200, fresh SQLite database, {runs} runs)\n");
    println!(
        "| n | p50 | p90 | p99 | max |\n|---:|---:|---:|---:|---:|\n| {} | {} |",
        s.n,
        s.cells()
    );
    Ok(s.json())
}
