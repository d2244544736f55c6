//! `brook-bench` (issue 16): starts testkit's fake OpenAI-compatible upstream
//! and a release `brook` (or targets a running one with `--url`), optionally
//! the peers (the LiteLLM proxy and a Node AI SDK `streamText` relay from
//! `.bench-peers/`), and measures them with the same real clients in one run.
//! Prints markdown tables, writes `results.json` and `chart.svg` to `--out`.
//!
//! Every time is from the client's side, p50/p90/p99/max in ms; CPU and RSS
//! of a server are read from `/proc/<pid>`. Nothing is asserted: the numbers
//! are the output (`make bench`, `make bench-full`, `make bench-peers`).

mod brook_only;
mod clients;
mod load;
mod procs;
mod report;
mod stats;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde_json::{json, Value};

use clients::{Kind, Target};
use procs::{loadavg, BrookSpec, Upstream};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Profile {
    /// Under 5 minutes: 200 and 1,000 streams, 500 → 3,000 idle connections.
    Quick,
    /// The sizes: up to 5,000 streams, 500 requests/s, 19,000 idle connections.
    Full,
}

#[derive(Parser, Debug)]
#[command(about = "Brook's load benchmark (issue 16)")]
struct Args {
    #[arg(long, value_enum, default_value = "quick")]
    profile: Profile,
    /// The `brook` binary to start.
    #[arg(long, default_value = "target/release/brook")]
    brook: PathBuf,
    /// Measure a running Brook at this base URL instead of starting one (its
    /// upstream should be `--upstream`; CPU, RSS and idle memory need `--pid`).
    #[arg(long)]
    url: Option<String>,
    #[arg(long)]
    pid: Option<u32>,
    /// testkit's `fake-upstream` binary (default: next to this binary).
    #[arg(long)]
    fake_upstream: Option<PathBuf>,
    /// Brook's `DATABASE_URL` (default: a fresh SQLite file); give an empty PostgreSQL database to measure it.
    #[arg(long)]
    database_url: Option<String>,
    /// Also measure the peers installed by `make bench-peers` in this folder.
    #[arg(long)]
    peers: Option<PathBuf>,
    /// Only these scenarios: stream, first-token, ack, idle, connect, sizes, cold.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Where results.json and chart.svg go.
    #[arg(long, default_value = "bench-results")]
    out: PathBuf,
    /// The built site, for the bundle sizes.
    #[arg(long, default_value = "target/site")]
    site: PathBuf,
}

fn main() {
    let args = Args::parse();
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("brook-bench: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = rt.block_on(run(args)) {
        eprintln!("brook-bench: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), String> {
    let full = args.profile == Profile::Full;
    let want = |s: &str| args.only.is_empty() || args.only.iter().any(|o| o == s);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(10_000)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| e.to_string())?;
    let fake_bin = args.fake_upstream.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| Some(p.parent()?.join("fake-upstream")))
            .unwrap_or_else(|| PathBuf::from("fake-upstream"))
    });
    let up = Upstream::start(&fake_bin).await?;
    let db_name = match &args.database_url {
        Some(u) if u.starts_with("postgres") => "PostgreSQL",
        _ => "SQLite",
    };
    let spec = BrookSpec {
        bin: &args.brook,
        database_url: args.database_url.as_deref(),
        upstream: &up.base_url,
        max_active_replies: 10_000,
    };
    let (brook_proc, brook_url, ready) = match &args.url {
        Some(u) => (None, u.trim_end_matches('/').to_string(), None),
        None => {
            let (p, u, t) = procs::start_brook(&spec, &http).await?;
            (Some(p), u, Some(t))
        }
    };
    let brook_pid = brook_proc.as_ref().map(|p| p.pid).or(args.pid);
    println!("# brook-bench, {:?} profile\n", args.profile);
    println!(
        "Brook {brook_url} ({db_name}{}), fake upstream {} (pid {}), load average at start {:.2}, {} CPUs.",
        ready
            .map(|t| format!(", ready in {:.0} ms", t.as_secs_f64() * 1000.0))
            .unwrap_or_default(),
        up.base_url,
        up.proc.pid,
        loadavg(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    let mut targets = vec![
        Target {
            name: "direct",
            kind: Kind::OpenAi,
            url: up.base_url.clone(),
            pid: Some(up.proc.pid),
        },
        Target {
            name: "brook-ws",
            kind: Kind::BrookWs,
            url: brook_url.clone(),
            pid: brook_pid,
        },
        Target {
            name: "brook-sse",
            kind: Kind::BrookSse,
            url: brook_url.clone(),
            pid: brook_pid,
        },
    ];
    // The peers, kept alive for the whole run.
    let mut peer_procs = Vec::new();
    if let Some(dir) = &args.peers {
        match procs::start_relay(dir, &up.base_url, &http).await {
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
        match procs::start_litellm(dir, &up.base_url, &http).await {
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
    }
    let mut results = serde_json::Map::new();
    results.insert("profile".into(), json!(format!("{:?}", args.profile)));
    results.insert(
        "systems".into(),
        json!(targets.iter().map(|t| t.name).collect::<Vec<_>>()),
    );
    results.insert("load_average_start".into(), json!(loadavg()));

    if want("first-token") {
        let n = if full { 1000 } else { 200 };
        let mut rows = load::first_token_sequential(&targets, &up, &http, n).await?;
        for rate in if full { vec![1, 50, 500] } else { vec![1, 50] } {
            let secs = if rate == 1 {
                20
            } else if full {
                10
            } else {
                5
            };
            rows.extend(load::first_token_rate(&targets, &up, &http, rate, secs).await?);
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
        results.insert("first_token".into(), Value::Array(json_rows));
    }

    if want("stream") {
        let levels = if full { vec![200, 1000, 5000] } else { vec![200, 1000] };
        let shape = load::Shape {
            tokens: 100,
            delay_ms: 20,
            rounds: if full { 3 } else { 2 },
            limit: Duration::from_secs(if full { 180 } else { 60 }),
        };
        let (tokens, delay, rounds, limit) = (shape.tokens, shape.delay_ms, shape.rounds, shape.limit);
        let mut rows = Vec::new();
        for c in levels {
            for t in &targets {
                eprintln!("stream: {} at {c}", t.name);
                match load::stream(t, &up, &http, c, &shape).await {
                    Ok(r) => rows.push(r),
                    Err(e) => println!("\n{} at {c}: {e}", t.name),
                }
                // Let sockets in TIME_WAIT and the servers' pools settle between systems.
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
        println!(
            "\n### Stream delivery ({tokens} tokens per reply, {delay} ms apart = {} tokens/s per stream; {rounds} replies per client back to back; limit {} s)\n",
            1000 / delay,
            limit.as_secs()
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
        std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
        let svg = args.out.join("chart.svg");
        match report::chart(&rows, &svg) {
            Ok(()) => println!("\nChart: {}", svg.display()),
            Err(e) => println!("\nNo chart: {e}"),
        }
        results.insert("stream".into(), Value::Array(rows.iter().map(|r| r.json()).collect()));
    }

    let brook_target = targets[1].clone();
    if want("ack") {
        let secs = if full { 10 } else { 3 };
        results.insert(
            "ack".into(),
            brook_only::ack(&brook_target, &up, &http, 1000, secs, 1000, db_name).await?,
        );
    }
    if want("connect") {
        results.insert(
            "connect".into(),
            brook_only::connect(&brook_target, &http, 200, 500).await?,
        );
    }
    drop(brook_proc);
    if want("idle") {
        let (low, high) = if full { (1000, 19_000) } else { (500, 3000) };
        // On a brook of its own: after the other loads the heap holds free
        // memory that new connections would reuse, hiding their cost.
        let fresh = match &args.url {
            Some(_) => None,
            // The default reply cap: 10,000 would reserve a quarter of the descriptors.
            None => Some(
                procs::start_brook(
                    &BrookSpec {
                        max_active_replies: 256,
                        ..spec
                    },
                    &http,
                )
                .await?,
            ),
        };
        let idle_target = match &fresh {
            Some((p, url, _)) => Target {
                url: url.clone(),
                pid: Some(p.pid),
                ..brook_target.clone()
            },
            None => brook_target.clone(),
        };
        match brook_only::idle(&idle_target, &http, low, high).await {
            Ok(v) => {
                results.insert("idle".into(), v);
            }
            Err(e) => println!("\nIdle memory not measured: {e}"),
        }
    }
    if want("cold") && args.url.is_none() {
        let cold = BrookSpec {
            bin: &args.brook,
            database_url: None,
            upstream: &up.base_url,
            max_active_replies: 256,
        };
        results.insert(
            "cold_start".into(),
            brook_only::cold_start(&cold, &http, if full { 20 } else { 5 }).await?,
        );
    }
    if want("sizes") {
        results.insert("sizes".into(), report::sizes(&args.site, &args.brook));
    }
    drop(peer_procs);
    results.insert("load_average_end".into(), json!(loadavg()));
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    let path = args.out.join("results.json");
    let text = serde_json::to_string_pretty(&Value::Object(results)).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("\nResults: {}", path.display());
    Ok(())
}
