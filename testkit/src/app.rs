//! `spawn_app()`: the real Brook server on port 0, on a fresh database, talking to
//! a fake upstream (or the demo model).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use engine::config::ProviderKind;
use engine::{Config, Engine};
use serde_json::{json, Value};
use server::serve::Running;

use crate::db::TestDb;
use crate::upstream::FakeUpstream;
use crate::ws::WsClient;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Changes a test's configuration before the server starts.
pub type Configure = Box<dyn FnOnce(&mut Config) + Send>;

pub struct AppOptions {
    pub backend: Backend,
    /// Talk to a fake upstream through the real `openai` provider (else `demo`).
    pub upstream: bool,
    pub configure: Option<Configure>,
}

impl AppOptions {
    pub fn new(backend: Backend) -> Self {
        AppOptions {
            backend,
            upstream: true,
            configure: None,
        }
    }
    pub fn demo(mut self) -> Self {
        self.upstream = false;
        self
    }
    pub fn config(mut self, f: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        self.configure = Some(Box::new(f));
        self
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub engine: Arc<Engine>,
    pub http: reqwest::Client,
    pub upstream: Option<FakeUpstream>,
    pub config: Config,
    running: Option<Running>,
    pub db: TestDb,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown.cancel();
            r.task.abort();
        }
    }
}

/// The configuration tests start from: limits off (tests opt in), short upstream
/// time-outs, an instant demo model.
pub fn test_config(database_url: &str, upstream: Option<&FakeUpstream>) -> Config {
    let mut c = Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: database_url.to_string(),
        rate_limit_per_min: 0,
        auth_rate_limit_per_min: 0,
        daily_tokens_guest: 0,
        daily_tokens_visitor: 0,
        upstream_first_token: Duration::from_secs(5),
        upstream_idle: Duration::from_secs(5),
        demo_token_delay: Duration::ZERO,
        drain: Duration::from_secs(2),
        ..Config::default()
    };
    if let Some(u) = upstream {
        c.provider = ProviderKind::OpenAi;
        c.openai_base_url = u.base_url();
        c.openai_api_key = Some("test-key".into());
    }
    c
}

/// Starts Brook. `None` when the backend is PostgreSQL and it is unavailable
/// (the skip is announced loudly; CI makes it a failure instead).
pub async fn spawn_app(opts: AppOptions) -> Option<TestApp> {
    let db = match opts.backend {
        Backend::Sqlite => TestDb::sqlite(),
        Backend::Postgres => TestDb::postgres().await?,
    };
    let upstream = if opts.upstream {
        Some(FakeUpstream::start().await)
    } else {
        None
    };
    let mut config = test_config(db.url(), upstream.as_ref());
    if let Some(f) = opts.configure {
        f(&mut config);
    }
    let running = server::serve::spawn(config.clone()).await.expect("brook starts");
    engine::tls::install_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http client");
    Some(TestApp {
        addr: running.addr,
        engine: running.engine.clone(),
        http,
        upstream,
        config,
        running: Some(running),
        db,
    })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    pub fn upstream(&self) -> &FakeUpstream {
        self.upstream.as_ref().expect("this app talks to the fake upstream")
    }

    /// Stops the server as SIGTERM would, and waits for it.
    pub async fn shutdown(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(20), r.task).await;
        }
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

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> reqwest::Response {
        let mut r = self.http.patch(self.url(path)).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut r = self.http.delete(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    /// Registers an account; returns `(token, user id)`.
    pub async fn register(&self, email: &str) -> (String, String) {
        let r = self
            .post(
                "/api/v1/auth/register",
                None,
                json!({"email": email, "password": "correct horse battery", "name": "Test"}),
            )
            .await;
        assert_eq!(r.status(), 201, "register {email}");
        let v: Value = r.json().await.expect("json");
        (
            v["token"].as_str().unwrap().to_string(),
            v["user"]["id"].as_str().unwrap().to_string(),
        )
    }

    pub async fn user_token(&self) -> String {
        self.register(&format!("u{}@example.com", uuid::Uuid::new_v4().simple()))
            .await
            .0
    }

    /// A WebSocket on `path`, not authenticated.
    pub async fn ws(&self, path: &str) -> WsClient {
        WsClient::connect(&self.ws_url(path)).await.expect("websocket connects")
    }

    /// A WebSocket on `/ws/chat`, authenticated with an `auth` frame.
    pub async fn ws_authed(&self, token: &str) -> WsClient {
        let mut ws = self.ws("/ws/chat").await;
        ws.send(json!({"type": "auth", "token": token})).await;
        let first = ws.recv().await.expect("auth answer");
        assert_eq!(first["type"], "auth_success", "{first}");
        ws
    }
}
