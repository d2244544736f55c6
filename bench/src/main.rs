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
mod scenarios;
mod stats;

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde_json::{json, Value};

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
    // Built together with the server (`make bench-build`), reqwest gets TLS
    // without a crypto provider and panics when a client is built without one.
    let _ = rustls::crypto::ring::default_provider().install_default();
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
    let up = Upstream::start(&fake_upstream_bin(&args)).await?;
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
    print_header(&args, &brook_url, db_name, ready, &up);
    let mut targets = scenarios::targets(&up, &brook_url, brook_pid);
    // The peers, kept alive for the whole run.
    let peer_procs = match &args.peers {
        Some(dir) => scenarios::start_peers(dir, &up, &http, &mut targets).await,
        None => Vec::new(),
    };
    let systems: Vec<&str> = targets.iter().map(|t| t.name).collect();
    let mut results = serde_json::Map::new();
    results.insert("profile".into(), json!(format!("{:?}", args.profile)));
    results.insert("systems".into(), json!(systems));
    results.insert("load_average_start".into(), json!(loadavg()));
    if want("first-token") {
        let rows = scenarios::first_token(&targets, &up, &http, full).await?;
        results.insert("first_token".into(), rows);
    }
    if want("stream") {
        let rows = scenarios::stream(&targets, &up, &http, full, &args.out).await?;
        results.insert("stream".into(), rows);
    }
    let brook_target = targets[1].clone();
    if want("ack") {
        let secs = if full { 10 } else { 3 };
        let ack = brook_only::ack(&brook_target, &up, &http, 1000, secs, 1000, db_name).await?;
        results.insert("ack".into(), ack);
    }
    if want("connect") {
        let connect = brook_only::connect(&brook_target, &http, 200, 500).await?;
        results.insert("connect".into(), connect);
    }
    drop(brook_proc);
    if want("idle") {
        let url = args.url.as_deref();
        if let Some(v) = scenarios::idle(&spec, url, &brook_target, &http, full).await? {
            results.insert("idle".into(), v);
        }
    }
    if want("cold") && args.url.is_none() {
        results.insert("cold_start".into(), scenarios::cold(&spec, &http, full).await?);
    }
    if want("sizes") {
        results.insert("sizes".into(), report::sizes(&args.site, &args.brook));
    }
    drop(peer_procs);
    results.insert("load_average_end".into(), json!(loadavg()));
    write_results(&args.out, results)
}

/// testkit's `fake-upstream`: `--fake-upstream`, else the one next to this binary.
fn fake_upstream_bin(args: &Args) -> PathBuf {
    args.fake_upstream.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| Some(p.parent()?.join("fake-upstream")))
            .unwrap_or_else(|| PathBuf::from("fake-upstream"))
    })
}

/// The run's first lines: what is measured, where, on what machine.
fn print_header(args: &Args, brook_url: &str, db_name: &str, ready: Option<Duration>, up: &Upstream) {
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
}

/// Writes `results.json` into `out`.
fn write_results(out: &Path, results: serde_json::Map<String, Value>) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    let path = out.join("results.json");
    let text = serde_json::to_string_pretty(&Value::Object(results)).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("\nResults: {}", path.display());
    Ok(())
}
