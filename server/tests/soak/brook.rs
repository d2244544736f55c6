//! The server under soak: the real `brook` binary as a child process, and
//! what is read from outside it (its RSS, its metrics, its database's size).

use std::time::Duration;

use serde_json::Value;
use testkit::db::TestDb;
use testkit::FakeUpstream;

/// The real `brook` binary, a child process, on its own SQLite database.
pub struct Brook {
    child: tokio::process::Child,
    pub addr: String,
    pub http: reqwest::Client,
    pub db: TestDb,
}

impl Brook {
    /// Starts `brook serve` against `upstream` with every limit that would refuse
    /// the soak's traffic off (the in-process tests' `test_config`), and waits for
    /// `/health`.
    pub async fn start(upstream: &FakeUpstream, reply_log_secs: u64) -> Brook {
        engine::tls::install_crypto_provider();
        let db = if std::env::var_os("BROOK_SOAK_POSTGRES").is_some() {
            TestDb::postgres().await.expect("PostgreSQL for BROOK_SOAK_POSTGRES")
        } else {
            TestDb::sqlite()
        };
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let addr = format!("127.0.0.1:{port}");
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_brook"))
            .arg("serve")
            .env("DATABASE_URL", db.url())
            .env_remove("BROOK_PROVIDER")
            .env("LEPTOS_SITE_ADDR", &addr)
            .env("OPENAI_BASE_URL", upstream.base_url())
            .env("OPENAI_API_KEY", "soak")
            .env("BROOK_REPLY_LOG_SECS", reply_log_secs.to_string())
            .env("BROOK_RATE_LIMIT_PER_MIN", "0")
            .env("BROOK_AUTH_RATE_LIMIT_PER_MIN", "0")
            .env("BROOK_DAILY_TOKENS_GUEST", "0")
            .env("BROOK_MAX_CONNECTIONS_PER_IP", "0")
            .env("BROOK_UPSTREAM_FIRST_TOKEN_SECS", "30")
            .env("BROOK_UPSTREAM_IDLE_SECS", "30")
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("brook starts");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let brook = Brook { child, addr, http, db };
        for _ in 0..200 {
            if brook.http.get(brook.url("/health")).send().await.is_ok() {
                return brook;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("brook did not come up");
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("brook is running")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> reqwest::Response {
        let mut r = self.http.post(self.url(path)).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut r = self.http.get(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }
}

/// Two gauges of the server's `GET /metrics`: reply logs held and open
/// connections (0 when unreadable), printed next to the RSS to explain it.
pub async fn gauges(http: &reqwest::Client, url: &str) -> (u64, u64) {
    let text = match http.get(url).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let gauge = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or(0)
    };
    (gauge("brook_reply_logs_held"), gauge("brook_connections"))
}

/// A field of `/proc/<pid>/status` in KiB (`VmRSS`, `RssAnon`, `RssFile`); 0
/// once the process is gone.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|l| l.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// The sizes in MiB of the SQLite database under `url` and of its WAL (0 for
/// PostgreSQL).
pub fn db_mib(url: &str) -> (f64, f64) {
    let path = url.trim_start_matches("sqlite://");
    let size = |p: String| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) as f64 / (1024.0 * 1024.0);
    (size(path.to_string()), size(format!("{path}-wal")))
}
