//! Near the open-file limit (issue 11 §3): a real `brook` process started with
//! `ulimit -n 1024`, one client holding 1,100 idle connections, and `/health`
//! must keep answering; the log says so once per interval, not once per accept.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::connections::connect_from;

struct Child {
    process: tokio::process::Child,
    lines: Arc<Mutex<Vec<String>>>,
    addr: std::net::SocketAddr,
    _dir: std::path::PathBuf,
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.start_kill();
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

/// Starts `brook` under `ulimit -n <limit>` and waits for its address.
async fn brook_with_fd_limit(limit: u32, env: &[(&str, &str)]) -> Child {
    let dir = std::env::temp_dir().join(format!("brook-fd-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("brook.db").display());
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -n {limit} && exec \"$BROOK_BIN\""))
        .env("BROOK_BIN", env!("CARGO_BIN_EXE_brook"))
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("LEPTOS_SITE_ROOT", dir.join("site"))
        .env("DATABASE_URL", db)
        .env("BROOK_PROVIDER", "demo")
        .env("BROOK_LOG_FORMAT", "text")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "warn,brook_server=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut process = cmd.spawn().expect("brook starts");
    let stderr = process.stderr.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = tokio::sync::oneshot::channel();
    {
        let lines = lines.clone();
        tokio::spawn(async move {
            let mut tx = Some(tx);
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if let Some(rest) = line.split("serving on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or_default().parse();
                    if let (Some(tx), Ok(addr)) = (tx.take(), addr) {
                        let _ = tx.send(addr);
                    }
                }
                lines.lock().unwrap().push(line);
            }
        });
    }
    let addr = match tokio::time::timeout(Duration::from_secs(60), rx).await {
        Ok(Ok(addr)) => addr,
        _ => panic!("brook did not start: {:#?}", lines.lock().unwrap()),
    };
    Child {
        process,
        lines,
        addr,
        _dir: dir,
    }
}

async fn health(addr: std::net::SocketAddr) -> bool {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    matches!(client.get(format!("http://{addr}/health")).send().await, Ok(r) if r.status() == 200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_low_descriptor_limit_health_keeps_answering() {
    engine::tls::install_crypto_provider();
    // This test process holds 1,400 sockets itself.
    let _ = rlimit::increase_nofile_limit(8192);
    let child = brook_with_fd_limit(
        1024,
        &[
            ("BROOK_MAX_CONNECTIONS_PER_IP", "0"),
            ("BROOK_HEADER_TIMEOUT_SECS", "60"),
        ],
    )
    .await;
    assert!(health(child.addr).await, "healthy before");
    // One client (127.0.0.2) opens 1,100 connections and sends nothing.
    let mut held = Vec::new();
    for _ in 0..1100 {
        if let Ok(s) = connect_from([127, 0, 0, 2], child.addr).await {
            held.push(s);
        }
    }
    for i in 0..10 {
        assert!(
            health(child.addr).await,
            "/health answered while 1,100 idle connections pressed ({i})"
        );
    }
    // Again, with the flood re-opened meanwhile.
    for _ in 0..300 {
        if let Ok(s) = connect_from([127, 0, 0, 2], child.addr).await {
            held.push(s);
        }
    }
    assert!(health(child.addr).await, "/health after the second wave");
    drop(held);
    let lines = child.lines.lock().unwrap().clone();
    let pressure: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("accept failed") || l.contains("connection budget") || l.contains("refused"))
        .filter(|l| !l.contains("fd_limit="))
        .collect();
    assert!(
        pressure.len() <= 6,
        "at most one line per kind per interval, not one per accept: {pressure:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("fd_limit=1024")),
        "the limit in force is logged: {lines:#?}"
    );
}
