//! The load scenarios over every system: stream delivery (C concurrent replies
//! of T tokens at R tokens/s) and first-token overhead (one at a time, and at a
//! fixed request rate, systems interleaved request by request).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::clients::{Sample, Session, Target};
use crate::procs::{loadavg, Upstream, Watch};
use crate::stats::{count, ms, Summary};

/// Opens `n` sessions on `target`, 64 at a time; the failures are dropped and counted.
pub async fn sessions(target: &Target, http: &reqwest::Client, n: usize) -> (Vec<Session>, usize) {
    let opened: Vec<_> = futures::stream::iter(0..n)
        .map(|_| Session::open(target, http))
        .buffer_unordered(64)
        .collect()
        .await;
    let failed = opened.iter().filter(|r| r.is_err()).count();
    if let Some(Err(e)) = opened.iter().find(|r| r.is_err()) {
        eprintln!("  {}: {failed} of {n} sessions failed, e.g. {e}", target.name);
    }
    (opened.into_iter().filter_map(Result::ok).collect(), failed)
}

/// One stream-delivery row: one system at one concurrency.
#[derive(Clone, Debug)]
pub struct StreamRow {
    pub system: &'static str,
    pub concurrency: usize,
    pub tokens_per_s: f64,
    pub exact: usize,
    pub total: usize,
    pub ttft: Summary,
    /// Per stream: (first-to-last span − (T−1)·delay) / (T−1), in ms.
    pub added_per_token: Summary,
    pub cpu_ms_per_1k_tokens: Option<f64>,
    pub peak_rss_mb: Option<f64>,
    pub load: f64,
    pub first_error: Option<String>,
}

impl StreamRow {
    pub fn json(&self) -> Value {
        json!({
            "system": self.system, "concurrency": self.concurrency, "tokens_per_s": self.tokens_per_s,
            "exact": self.exact, "total": self.total, "ttft": self.ttft.json(),
            "added_per_token": self.added_per_token.json(), "cpu_ms_per_1k_tokens": self.cpu_ms_per_1k_tokens,
            "peak_rss_mb": self.peak_rss_mb, "load_average": self.load, "first_error": self.first_error,
        })
    }

    pub fn markdown(&self) -> String {
        format!(
            "| {} | {} | {} | {}/{} | {} | {} | {} | {} | {} | {:.1} |",
            self.system,
            count(self.concurrency as f64),
            count(self.tokens_per_s),
            self.exact,
            self.total,
            ms(self.ttft.p50),
            ms(self.ttft.p99),
            ms(self.added_per_token.p50),
            self.cpu_ms_per_1k_tokens
                .map(|c| format!("{c:.1} ms"))
                .unwrap_or("—".into()),
            self.peak_rss_mb.map(|r| format!("{r:.0} MB")).unwrap_or("—".into()),
            self.load
        )
    }
}

/// The shape of a stream-delivery load: replies of `tokens` tokens
/// `delay_ms` apart, `rounds` per client back to back, all within `limit`.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub tokens: usize,
    pub delay_ms: u64,
    pub rounds: usize,
    pub limit: Duration,
}

/// `c` clients each run `shape.rounds` replies back to back; tokens/s is
/// every token delivered over the wall time.
pub async fn stream(
    target: &Target,
    up: &Upstream,
    http: &reqwest::Client,
    c: usize,
    shape: &Shape,
) -> Result<StreamRow, String> {
    let Shape {
        tokens,
        delay_ms,
        rounds,
        limit,
    } = *shape;
    up.set(http, tokens, delay_ms).await?;
    let (sessions, _) = sessions(target, http, c).await;
    let watch = target.pid.map(Watch::start);
    let load = loadavg();
    let start = Instant::now();
    let samples: Vec<Sample> = futures::future::join_all(sessions.into_iter().map(|mut s| async move {
        let mut out = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let left = limit.saturating_sub(start.elapsed());
            out.push(s.request(http, "stream delivery", tokens, left).await);
        }
        out
    }))
    .await
    .into_iter()
    .flatten()
    .collect();
    let wall = start.elapsed().as_secs_f64();
    let delivered: usize = samples.iter().map(|s| s.tokens).sum();
    let (cpu, peak) = match watch {
        Some(w) => {
            let (cpu, peak) = w.finish();
            // Per 1,000 tokens delivered: nothing to divide by when none arrived.
            let per = (delivered > 0).then(|| cpu * 1000.0 / (delivered as f64 / 1000.0));
            (per, Some(peak as f64 * 1024.0 / 1e6))
        }
        None => (None, None),
    };
    let per_token = samples
        .iter()
        .filter(|s| s.ok && tokens > 1)
        .map(|s| (s.span_ms - (tokens - 1) as f64 * delay_ms as f64) / (tokens - 1) as f64)
        .collect();
    Ok(StreamRow {
        system: target.name,
        concurrency: c,
        tokens_per_s: delivered as f64 / wall,
        exact: samples.iter().filter(|s| s.ok).count(),
        total: c * rounds,
        ttft: Summary::of(samples.iter().filter_map(|s| s.ttft_ms).collect()),
        added_per_token: Summary::of(per_token),
        cpu_ms_per_1k_tokens: cpu,
        peak_rss_mb: peak,
        load,
        first_error: samples.iter().find_map(|s| s.error.clone()),
    })
}

/// First-token times per system at one request pattern.
#[derive(Clone, Debug)]
pub struct FirstTokenRow {
    pub system: &'static str,
    pub pattern: String,
    pub ttft: Summary,
    pub failed: usize,
    pub load: f64,
}

/// The first-token scenario: `n` rounds, each one request to every system in
/// turn (the order rotating), replies of 5 tokens with no delay.
pub async fn first_token_sequential(
    targets: &[Target],
    up: &Upstream,
    http: &reqwest::Client,
    n: usize,
) -> Result<Vec<FirstTokenRow>, String> {
    up.set(http, 5, 0).await?;
    let mut sess = Vec::new();
    for t in targets {
        sess.push(Session::open(t, http).await.map_err(|e| format!("{}: {e}", t.name))?);
    }
    let load = loadavg();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
    let mut failed = vec![0; targets.len()];
    for round in 0..n + 10 {
        for k in 0..targets.len() {
            let i = (k + round) % targets.len();
            let s = sess[i].request(http, "first token", 5, Duration::from_secs(30)).await;
            // The first ten rounds warm connections and caches up.
            if round < 10 {
                continue;
            }
            match s.ttft_ms.filter(|_| s.ok) {
                Some(t) => times[i].push(t),
                None => failed[i] += 1,
            }
        }
    }
    Ok(rows(targets, times, failed, "one at a time".into(), load))
}

/// At `rate` requests/s to every system (ticks interleaved) for `secs`: each
/// request's time counts from its scheduled start, so a queue shows.
pub async fn first_token_rate(
    targets: &[Target],
    up: &Upstream,
    http: &reqwest::Client,
    rate: usize,
    secs: u64,
) -> Result<Vec<FirstTokenRow>, String> {
    up.set(http, 5, 0).await?;
    let pool_size = (rate / 4).clamp(8, 256);
    let mut pools = Vec::new();
    for t in targets {
        let (s, _) = sessions(t, http, pool_size).await;
        if s.is_empty() {
            return Err(format!("{}: no session", t.name));
        }
        let (tx, rx) = async_pool(s);
        pools.push((tx, rx));
    }
    let load = loadavg();
    let n = rate * secs as usize;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for j in 0..n {
        let at = start + Duration::from_secs_f64(j as f64 / rate as f64);
        tokio::time::sleep_until(at.into()).await;
        for (i, (tx, rx)) in pools.iter().enumerate() {
            let (tx, rx, http) = (tx.clone(), rx.clone(), http.clone());
            tasks.push(tokio::spawn(async move {
                let mut s = rx.lock().await.recv().await.ok_or("pool closed")?;
                let mut sample = s.request(&http, "first token", 5, Duration::from_secs(30)).await;
                let _ = tx.send(s).await;
                // Count from the scheduled start: waiting for a free client is latency too.
                let queued = crate::clients::ms(Instant::now().saturating_duration_since(at)) - sample.total_ms;
                sample.ttft_ms = sample.ttft_ms.map(|t| t + queued.max(0.0));
                Ok::<_, String>((i, sample))
            }));
        }
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
    let mut failed = vec![0; targets.len()];
    for t in tasks {
        match t.await {
            Ok(Ok((i, s))) if s.ok => times[i].extend(s.ttft_ms),
            Ok(Ok((i, _))) => failed[i] += 1,
            _ => {}
        }
    }
    Ok(rows(
        targets,
        times,
        failed,
        format!("{rate} requests/s for {secs} s"),
        load,
    ))
}

type Pool = (
    tokio::sync::mpsc::Sender<Session>,
    Arc<Mutex<tokio::sync::mpsc::Receiver<Session>>>,
);

fn async_pool(sessions: Vec<Session>) -> Pool {
    let (tx, rx) = tokio::sync::mpsc::channel(sessions.len());
    for s in sessions {
        let _ = tx.try_send(s);
    }
    (tx, Arc::new(Mutex::new(rx)))
}

fn rows(
    targets: &[Target],
    times: Vec<Vec<f64>>,
    failed: Vec<usize>,
    pattern: String,
    load: f64,
) -> Vec<FirstTokenRow> {
    targets
        .iter()
        .zip(times.into_iter().zip(failed))
        .map(|(t, (v, f))| FirstTokenRow {
            system: t.name,
            pattern: pattern.clone(),
            ttft: Summary::of(v),
            failed: f,
            load,
        })
        .collect()
}
