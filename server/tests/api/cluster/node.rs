//! A deployment under test: a database, a Redis prefix, a fake model, and
//! `brook serve` child processes sharing them.

use std::time::Duration;

use serde_json::{json, Value};
use testkit::db::TestDb;
use testkit::ws::WsClient;
use testkit::FakeUpstream;

pub fn redis_url() -> String {
    std::env::var("BROOK_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A Redis connection for the test's own look at the deployment, or `None`
/// (after a loud message) when Redis is not there and not required.
pub async fn redis() -> Option<redis::aio::MultiplexedConnection> {
    let url = redis_url();
    let conn = async {
        let client = redis::Client::open(url.as_str())?;
        client.get_multiplexed_async_connection().await
    };
    match tokio::time::timeout(Duration::from_secs(3), conn).await {
        Ok(Ok(c)) => Some(c),
        other => {
            let why = match other {
                Ok(Err(e)) => e.to_string(),
                _ => "no answer within 3 s".into(),
            };
            if testkit::db::services_required() {
                panic!("Redis is required (BROOK_REQUIRE_SERVICES=1) but {url} is unreachable: {why}");
            }
            eprintln!("\n*** SKIPPED: Redis at {url} is unreachable ({why}); set BROOK_TEST_REDIS_URL ***\n");
            None
        }
    }
}

pub struct Deployment {
    pub db: TestDb,
    pub prefix: String,
    pub upstream: FakeUpstream,
    pub redis: redis::aio::MultiplexedConnection,
    secret: String,
}

impl Deployment {
    /// A fresh database and prefix, or `None` when a service is missing (skipped).
    pub async fn new() -> Option<Deployment> {
        engine::tls::install_crypto_provider();
        let redis = redis().await?;
        let db = TestDb::postgres().await?;
        Some(Deployment {
            db,
            prefix: format!("brook-test-{}:", uuid::Uuid::new_v4().simple()),
            upstream: FakeUpstream::start().await,
            redis,
            secret: format!("cluster-test-secret-{}", uuid::Uuid::new_v4().simple()),
        })
    }

    /// Starts a node of this deployment.
    pub async fn node(&self) -> Node {
        self.node_with_prefix(&self.prefix).await
    }

    /// A node on the same database but under another prefix: another deployment
    /// sharing the Redis.
    pub async fn node_with_prefix(&self, prefix: &str) -> Node {
        self.node_with(prefix, &[]).await
    }

    /// A node with settings of its own (`env` wins over the test defaults).
    pub async fn node_with(&self, prefix: &str, env: &[(&str, &str)]) -> Node {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let addr = format!("127.0.0.1:{port}");
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_brook"))
            .arg("serve")
            .env("DATABASE_URL", self.db.url())
            .env("REDIS_URL", redis_url())
            .env("BROOK_REDIS_PREFIX", prefix)
            .env("BROOK_JWT_SECRET", &self.secret)
            .env_remove("BROOK_PROVIDER")
            .env("LEPTOS_SITE_ADDR", &addr)
            .env("OPENAI_BASE_URL", self.upstream.base_url())
            .env("OPENAI_API_KEY", "cluster")
            .env("BROOK_RATE_LIMIT_PER_MIN", "0")
            .env("BROOK_AUTH_RATE_LIMIT_PER_MIN", "0")
            .env("BROOK_DAILY_TOKENS_GUEST", "0")
            .env("BROOK_MAX_CONNECTIONS_PER_IP", "0")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("brook starts");
        let node = Node {
            child,
            addr,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        };
        let mut node = node;
        // Generous: the whole suite starts dozens of processes on two cores.
        for _ in 0..900 {
            if node.http.get(node.url("/health")).send().await.is_ok() {
                return node;
            }
            if let Ok(Some(status)) = node.child.try_wait() {
                panic!("brook exited at start-up: {status}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("brook did not come up within 90 s");
    }

    /// Waits until `n` nodes subscribed to the identity's channel (a node
    /// subscribes when its first connection of that identity opens).
    pub async fn subscribed(&self, prefix: &str, user_id: &str, n: i64) {
        self.channel_subscribers(&format!("{prefix}o:{user_id}"), n).await
    }

    /// Waits until `n` nodes subscribed to a Redis channel of the deployment.
    pub async fn channel_subscribers(&self, channel: &str, n: i64) {
        let mut redis = self.redis.clone();
        for _ in 0..200 {
            let got: Vec<(String, i64)> = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(channel)
                .query_async(&mut redis)
                .await
                .expect("PUBSUB NUMSUB");
            if got.first().map(|(_, c)| *c) == Some(n) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{n} subscribers to {channel} never appeared");
    }

    /// The stored status and text of a message, read from the database itself.
    pub async fn stored(&self, id: &str) -> (String, String) {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(self.db.url()).await.expect("database");
        let row: (String, String) = sqlx::query_as("SELECT status, content FROM messages WHERE id = $1")
            .bind(id)
            .fetch_one(&mut c)
            .await
            .expect("the message is stored");
        let _ = c.close().await;
        row
    }
}

pub struct Node {
    child: tokio::process::Child,
    pub addr: String,
    pub http: reqwest::Client,
}

impl Node {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `POST path` with a JSON body, as `token` when given (as `TestApp::post`).
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> reqwest::Response {
        self.call(self.http.post(self.url(path)).json(&body), token).await
    }

    /// `PUT path` with a JSON body, as `token` when given.
    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> reqwest::Response {
        self.call(self.http.put(self.url(path)).json(&body), token).await
    }

    /// `GET path`, as `token` when given.
    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.call(self.http.get(self.url(path)), token).await
    }

    /// `DELETE path`, as `token` when given.
    pub async fn delete(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.call(self.http.delete(self.url(path)), token).await
    }

    async fn call(&self, req: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::Response {
        let req = match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        req.send().await.expect("the node answers")
    }

    /// Registers an account; returns `(token, user id)`.
    pub async fn register(&self) -> (String, String) {
        let email = format!("c{}@example.com", uuid::Uuid::new_v4().simple());
        let r = self
            .http
            .post(self.url("/api/v1/auth/register"))
            .json(&json!({"email": email, "password": "correct horse battery", "name": "Test"}))
            .send()
            .await
            .expect("register");
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        (
            v["token"].as_str().unwrap().to_string(),
            v["user"]["id"].as_str().unwrap().to_string(),
        )
    }

    pub async fn ws(&self, token: &str) -> WsClient {
        let mut ws = WsClient::connect(&format!("ws://{}/ws/chat", self.addr))
            .await
            .expect("websocket connects");
        ws.send(json!({"type": "auth", "token": token})).await;
        let first = ws.recv().await.expect("auth answer");
        assert_eq!(first["type"], "auth_success", "{first}");
        ws
    }

    /// Whether the process still runs (it has not exited).
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM: the graceful drain.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("running").to_string();
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// `kill -9`: no drain, no goodbye.
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// Token seqs and texts of `reply_id` until its `complete` (returned).
pub async fn tokens_until_complete(ws: &mut WsClient, reply_id: &str) -> (Vec<u64>, String, Value) {
    let (mut seqs, mut text) = (Vec::new(), String::new());
    loop {
        let f = ws
            .recv()
            .await
            .unwrap_or_else(|| panic!("connection ended before complete; seqs {seqs:?}"));
        if f["reply_id"] != reply_id {
            continue;
        }
        match f["type"].as_str() {
            Some("token") => {
                seqs.push(f["seq"].as_u64().unwrap());
                text.push_str(f["token"].as_str().unwrap());
            }
            Some("complete") => return (seqs, text, f),
            _ => {}
        }
    }
}

/// Reads tokens of `reply_id` until seq `n` arrived.
pub async fn until_seq(ws: &mut WsClient, reply_id: &str, n: u64) -> Vec<u64> {
    let mut seqs = Vec::new();
    while seqs.last().copied().unwrap_or(0) < n {
        let f = ws.recv().await.expect("tokens keep coming");
        if f["reply_id"] == reply_id && f["type"] == "token" {
            seqs.push(f["seq"].as_u64().unwrap());
        }
    }
    seqs
}
