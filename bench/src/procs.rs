//! The processes under test (the fake upstream, `brook`, the peers) and what
//! is read about them from outside: `/proc/<pid>/stat` CPU ticks and RSS.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};

/// An error starting or reaching a process, said in words.
pub type Error = String;

/// A child process killed on drop, with a temporary folder removed on drop.
pub struct Proc {
    child: Child,
    pub pid: u32,
    pub dir: Option<PathBuf>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn spawn(name: &str, mut cmd: Command, dir: Option<PathBuf>) -> Result<Proc, Error> {
    cmd.kill_on_drop(true).stdin(Stdio::null());
    let child = cmd.spawn().map_err(|e| format!("{name} does not start: {e}"))?;
    let pid = child.id().ok_or_else(|| format!("{name} exited at once"))?;
    Ok(Proc { child, pid, dir })
}

/// A free TCP port on 127.0.0.1 (released before the child binds it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// Polls `url` until it answers 200, up to `limit`; returns the time it took.
pub async fn wait_ok(http: &reqwest::Client, url: &str, limit: Duration, every: Duration) -> Result<Duration, Error> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(r) = http.get(url).send().await {
            if r.status().is_success() {
                return Ok(start.elapsed());
            }
        }
        tokio::time::sleep(every).await;
    }
    Err(format!("{url} did not answer 200 within {limit:?}"))
}

/// testkit's `fake-upstream` binary: its base URL and control URL.
pub struct Upstream {
    pub proc: Proc,
    pub base_url: String,
    pub control: String,
}

impl Upstream {
    pub async fn start(bin: &Path) -> Result<Upstream, Error> {
        let mut cmd = Command::new(bin);
        cmd.stdout(Stdio::piped());
        let mut proc = spawn("fake-upstream", cmd, None)?;
        let out = proc.child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        tokio::io::BufReader::new(out)
            .read_line(&mut line)
            .await
            .map_err(|e| format!("fake-upstream: {e}"))?;
        let v: Value = serde_json::from_str(&line).map_err(|e| format!("fake-upstream printed {line:?}: {e}"))?;
        let field = |k: &str| {
            v[k].as_str()
                .map(str::to_string)
                .ok_or(format!("fake-upstream: no {k}"))
        };
        Ok(Upstream {
            base_url: field("base_url")?,
            control: field("control")?,
            proc,
        })
    }

    /// Every following completion streams `tokens` pieces, `delay_ms` apart
    /// (the first one too).
    pub async fn set(&self, http: &reqwest::Client, tokens: usize, delay_ms: u64) -> Result<(), Error> {
        http.post(format!("{}/default", self.control))
            .json(&json!({"tokens": tokens, "token_delay_ms": delay_ms}))
            .send()
            .await
            .map_err(|e| format!("fake-upstream control: {e}"))?;
        Ok(())
    }
}

/// How to start `brook`: its binary, database and upstream.
pub struct BrookSpec<'a> {
    pub bin: &'a Path,
    pub database_url: Option<&'a str>,
    pub upstream: &'a str,
    /// `BROOK_MAX_ACTIVE_REPLIES`: it also reserves descriptors (one per reply, at most a
    /// quarter of the limit) that the connection table then cannot use.
    pub max_active_replies: usize,
}

/// Starts `brook serve` with every limit that would refuse the benchmark's
/// traffic off, on a fresh SQLite database unless one is given, and waits for
/// `/ready`. Returns the process, its base URL and the time to `/ready`.
pub async fn start_brook(spec: &BrookSpec<'_>, http: &reqwest::Client) -> Result<(Proc, String, Duration), Error> {
    let dir = std::env::temp_dir().join(format!("brook-bench-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let db = match spec.database_url {
        Some(u) => u.to_string(),
        None => format!("sqlite://{}", dir.join("bench.db").display()),
    };
    let addr = format!("127.0.0.1:{}", free_port());
    let mut cmd = Command::new(spec.bin);
    cmd.arg("serve")
        .current_dir(&dir)
        .env("DATABASE_URL", db)
        .env("LEPTOS_SITE_ADDR", &addr)
        .env("OPENAI_BASE_URL", spec.upstream)
        .env("OPENAI_API_KEY", "bench")
        .env("BROOK_MODEL", "fake-model")
        .env("BROOK_REPLY_LOG_SECS", "0")
        .env("BROOK_MAX_ACTIVE_REPLIES", spec.max_active_replies.to_string())
        .env("BROOK_RATE_LIMIT_PER_MIN", "0")
        .env("BROOK_AUTH_RATE_LIMIT_PER_MIN", "0")
        .env("BROOK_MAX_CONNECTIONS_PER_IDENTITY", "0")
        .env("BROOK_MAX_CONNECTIONS_PER_IP", "0")
        .env("BROOK_DAILY_TOKENS_GUEST", "0")
        .env("BROOK_UPSTREAM_FIRST_TOKEN_SECS", "120")
        .env("BROOK_UPSTREAM_IDLE_SECS", "120")
        .env("RUST_LOG", "error")
        .env_remove("BROOK_PROVIDER")
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let start = Instant::now();
    let proc = spawn("brook", cmd, Some(dir))?;
    let url = format!("http://{addr}");
    wait_ok(
        http,
        &format!("{url}/ready"),
        Duration::from_secs(30),
        Duration::from_millis(2),
    )
    .await?;
    Ok((proc, url, start.elapsed()))
}

/// The LiteLLM proxy from `.bench-peers/venv`, routing `fake-model` to the upstream.
pub async fn start_litellm(peers: &Path, upstream: &str, http: &reqwest::Client) -> Result<(Proc, String), Error> {
    let bin = peers.join("venv/bin/litellm");
    if !bin.exists() {
        return Err(format!("{} is missing (make bench-peers installs it)", bin.display()));
    }
    let dir = std::env::temp_dir().join(format!("brook-bench-litellm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "model_list:\n  - model_name: fake-model\n    litellm_params:\n      model: openai/fake-model\n      api_base: {upstream}\n      api_key: bench\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let port = free_port();
    let mut cmd = Command::new(bin);
    cmd.args([
        "--config",
        &config.to_string_lossy(),
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
    ])
    // No master key: the proxy as a local relay that checks nothing, like the others.
    .env("LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY", "true")
    .env("LITELLM_LOG", "ERROR")
    .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    .env("DISABLE_SCHEMA_UPDATE", "True")
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let proc = spawn("litellm", cmd, Some(dir))?;
    let url = format!("http://127.0.0.1:{port}");
    wait_ok(
        http,
        &format!("{url}/health/liveliness"),
        Duration::from_secs(180),
        Duration::from_millis(100),
    )
    .await?;
    Ok((proc, url))
}

/// The Node `streamText` relay (`bench/peers/relay.mjs`, installed in `.bench-peers/relay`).
pub async fn start_relay(peers: &Path, upstream: &str, http: &reqwest::Client) -> Result<(Proc, String), Error> {
    let dir = peers.join("relay");
    if !dir.join("node_modules/ai").exists() {
        return Err(format!(
            "{}/node_modules is missing (make bench-peers installs it)",
            dir.display()
        ));
    }
    let port = free_port();
    let mut cmd = Command::new("node");
    cmd.current_dir(&dir)
        .args(["relay.mjs", &port.to_string(), upstream])
        .stdout(Stdio::null());
    let proc = spawn("relay", cmd, None)?;
    let url = format!("http://127.0.0.1:{port}");
    wait_ok(http, &url, Duration::from_secs(30), Duration::from_millis(20)).await?;
    Ok((proc, url))
}

/// Clock ticks per second for `/proc/<pid>/stat` (`getconf CLK_TCK`, else 100).
pub fn clk_tck() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

/// User + system CPU time of `pid` so far, in ticks (0 once it is gone).
pub fn cpu_ticks(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which may hold spaces: state is field 3.
    let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    // utime is field 14, stime 15; `f[0]` is field 3.
    get(11) + get(12)
}

/// Resident set size of `pid` in KiB (`VmRSS`; 0 once it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The machine's 1-minute load average.
pub fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// CPU and peak RSS of one process over a scenario: sampled every 50 ms.
pub struct Watch {
    pid: u32,
    ticks0: u64,
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
}

impl Watch {
    pub fn start(pid: u32) -> Watch {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_kib(pid)));
        let (s, p) = (stop.clone(), peak.clone());
        tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        Watch {
            pid,
            ticks0: cpu_ticks(pid),
            stop,
            peak,
        }
    }

    /// (CPU seconds used since the start, peak RSS in KiB).
    pub fn finish(self) -> (f64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let cpu = cpu_ticks(self.pid).saturating_sub(self.ticks0) as f64 / clk_tck();
        (cpu, self.peak.load(Ordering::Relaxed).max(rss_kib(self.pid)))
    }
}
