//! The systems measured and the scenarios measured on all of them: time to
//! first token and stream delivery (their tables printed, their rows returned
//! as JSON), and Brook's idle memory on a fresh process.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::clients::{Kind, Target};
use crate::procs::{self, BrookSpec, Proc, Upstream};
use crate::{brook_only, load, report, stats};

/// The fake upstream itself ("direct", the limit) and Brook's two transports.
pub fn targets(up: &Upstream, brook_url: &str, brook_pid: Option<u32>) -> Vec<Target> {
    vec![
        Target {
            name: "direct",
            kind: Kind::OpenAi,
            url: up.base_url.clone(),
            pid: Some(up.proc.pid),
        },
        Target {
            name: "brook-ws",
            kind: Kind::BrookWs,
            url: brook_url.to_string(),
            pid: brook_pid,
        },
        Target {
            name: "brook-sse",
            kind: Kind::BrookSse,
            url: brook_url.to_string(),
            pid: brook_pid,
        },
    ]
}

/// Starts the peers installed in `dir` and adds them to `targets`; a peer that
/// does not start is left out (and said so). Their processes: keep them alive.
pub async fn start_peers(dir: &Path, up: &Upstream, http: &reqwest::Client, targets: &mut Vec<Target>) -> Vec<Proc> {
    let mut peer_procs = Vec::new();
    match procs::start_relay(dir, &up.base_url, http).await {
        Ok((p, url)) => {
            targets.push(Target {
                name: "ai-sdk-relay",
                kind: Kind::Relay,
                url,
                pid: Some(p.pid),
            });
            peer_procs.push(p);
        }
        Err(e) => println!("\nThe AI SDK relay is not measured: {e}"),
    }
    let started = std::time::Instant::now();
    match procs::start_litellm(dir, &up.base_url, http).await {
        Ok((p, url)) => {
            println!("\nLiteLLM ready in {:.1} s.", started.elapsed().as_secs_f64());
            targets.push(Target {
                name: "litellm",
                kind: Kind::OpenAi,
                url: format!("{url}/v1"),
                pid: Some(p.pid),
            });
            peer_procs.push(p);
        }
        Err(e) => println!("\nLiteLLM is not measured: {e}"),
    }
    peer_procs
}

/// Time to first token: one request at a time, then at fixed rates; prints the
/// table (with the time each system adds to "direct") and returns its rows.
pub async fn first_token(
    targets: &[Target],
    up: &Upstream,
    http: &reqwest::Client,
    full: bool,
) -> Result<Value, String> {
    let n = if full { 1000 } else { 200 };
    let mut rows = load::first_token_sequential(targets, up, http, n).await?;
    for rate in if full { vec![1, 50, 500] } else { vec![1, 50] } {
        let secs = match (rate, full) {
            (1, _) => 20,
            (_, true) => 10,
            (_, false) => 5,
        };
        rows.extend(load::first_token_rate(targets, up, http, rate, secs).await?);
    }
    println!("\n### Time to first token (5 tokens, no delay upstream; systems interleaved request by request)\n");
    println!("| pattern | system | n | p50 | p90 | p99 | max | added p50 | added p99 | failed | load |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut json_rows = Vec::new();
    for r in &rows {
        let direct = rows
            .iter()
            .find(|d| d.pattern == r.pattern && d.system == "direct")
            .map(|d| d.ttft);
        let (a50, a99) = direct
            .map(|d| (r.ttft.p50 - d.p50, r.ttft.p99 - d.p99))
            .unwrap_or_default();
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.1} |",
            r.pattern,
            r.system,
            r.ttft.n,
            r.ttft.cells(),
            stats::ms(a50),
            stats::ms(a99),
            r.failed,
            r.load
        );
        json_rows.push(json!({"pattern": r.pattern, "system": r.system, "ttft": r.ttft.json(), "added_p50_ms": a50, "added_p99_ms": a99, "failed": r.failed, "load_average": r.load}));
    }
    Ok(Value::Array(json_rows))
}

/// Stream delivery at each concurrency, system after system; prints the table,
/// draws `chart.svg` into `out` and returns the rows.
pub async fn stream(
    targets: &[Target],
    up: &Upstream,
    http: &reqwest::Client,
    full: bool,
    out: &Path,
) -> Result<Value, String> {
    let levels = if full { vec![200, 1000, 5000] } else { vec![200, 1000] };
    let shape = load::Shape {
        tokens: 100,
        delay_ms: 20,
        rounds: if full { 3 } else { 2 },
        limit: Duration::from_secs(if full { 180 } else { 60 }),
    };
    let mut rows = Vec::new();
    for c in levels {
        for t in targets {
            eprintln!("stream: {} at {c}", t.name);
            match load::stream(t, up, http, c, &shape).await {
                Ok(r) => rows.push(r),
                Err(e) => println!("\n{} at {c}: {e}", t.name),
            }
            // Let sockets in TIME_WAIT and the servers' pools settle between systems.
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    println!(
        "\n### Stream delivery ({} tokens per reply, {} ms apart = {} tokens/s per stream; {} replies per client back to back; limit {} s)\n",
        shape.tokens,
        shape.delay_ms,
        1000 / shape.delay_ms,
        shape.rounds,
        shape.limit.as_secs()
    );
    println!("| system | concurrent | tokens/s | exact replies | first token p50 | p99 | added per token p50 | server CPU per 1,000 tokens | peak RSS | load |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!("{}", r.markdown());
    }
    for r in rows.iter().filter(|r| r.first_error.is_some()) {
        println!(
            "\n{} at {}: first failure: {}",
            r.system,
            r.concurrency,
            r.first_error.as_deref().unwrap_or("")
        );
    }
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    let svg = out.join("chart.svg");
    match report::chart(&rows, &svg) {
        Ok(()) => println!("\nChart: {}", svg.display()),
        Err(e) => println!("\nNo chart: {e}"),
    }
    Ok(Value::Array(rows.iter().map(|r| r.json()).collect()))
}

/// Idle memory per connection, on a brook of its own unless `url` targets a
/// running one: after the other loads the heap holds free memory that new
/// connections would reuse, hiding their cost. `None`: not measured (said why).
pub async fn idle(
    spec: &BrookSpec<'_>,
    url: Option<&str>,
    brook: &Target,
    http: &reqwest::Client,
    full: bool,
) -> Result<Option<Value>, String> {
    let (low, high) = if full { (1000, 19_000) } else { (500, 3000) };
    let fresh = match url {
        Some(_) => None,
        // The default reply cap: 10,000 would reserve a quarter of the descriptors.
        None => Some(
            procs::start_brook(
                &BrookSpec {
                    max_active_replies: 256,
                    ..*spec
                },
                http,
            )
            .await?,
        ),
    };
    let target = match &fresh {
        Some((p, url, _)) => Target {
            url: url.clone(),
            pid: Some(p.pid),
            ..brook.clone()
        },
        None => brook.clone(),
    };
    match brook_only::idle(&target, http, low, high).await {
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            println!("\nIdle memory not measured: {e}");
            Ok(None)
        }
    }
}

/// Cold starts (spawn to `/ready`) on a fresh SQLite file each time.
pub async fn cold(spec: &BrookSpec<'_>, http: &reqwest::Client, full: bool) -> Result<Value, String> {
    let cold = BrookSpec {
        database_url: None,
        max_active_replies: 256,
        ..*spec
    };
    brook_only::cold_start(&cold, http, if full { 20 } else { 5 }).await
}
