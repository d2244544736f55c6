//! Secrets never reach the log (contract §2, issue 15): the real `brook`
//! binary, every level at DEBUG (libraries too), through a run that uses a
//! password, JWTs (as Bearer, `?token=`, the `auth` frame and the session
//! cookie) and a `brk_` API key; then the captured log is searched for each.
//! The same log shows the access lines with their request ids and the
//! WebSocket's connection id.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::helpers::*;
use testkit::FakeUpstream;

/// The real binary, logging everything at DEBUG to a pipe read as it comes
/// (so a full pipe never stalls the server).
struct Brook {
    child: tokio::process::Child,
    reader: tokio::task::JoinHandle<String>,
    http: reqwest::Client,
    addr: String,
    // Kept alive while the server runs.
    _db: testkit::db::TestDb,
    _upstream: FakeUpstream,
}

impl Brook {
    async fn start() -> Brook {
        engine::tls::install_crypto_provider();
        let db = testkit::db::TestDb::sqlite();
        let upstream = FakeUpstream::start().await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_brook"))
            .env("DATABASE_URL", db.url())
            .env_remove("BROOK_PROVIDER")
            .env("LEPTOS_SITE_ADDR", &addr)
            .env("OPENAI_BASE_URL", upstream.base_url())
            .env("OPENAI_API_KEY", "sk-upstream-secret-do-not-log")
            .env("BROOK_AUTH_RATE_LIMIT_PER_MIN", "0")
            .env("BROOK_LOG_FORMAT", "text")
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("brook starts");
        let mut stderr = child.stderr.take().unwrap();
        let reader = tokio::spawn(async move {
            let mut log = String::new();
            let _ = stderr.read_to_string(&mut log).await;
            log
        });
        let brook = Brook {
            child,
            reader,
            http: reqwest::Client::new(),
            addr,
            _db: db,
            _upstream: upstream,
        };
        let mut up = false;
        for _ in 0..100 {
            if brook.http.get(brook.url("/health")).send().await.is_ok() {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(up, "brook did not come up");
        brook
    }

    fn url(&self, p: &str) -> String {
        format!("http://{}{p}", self.addr)
    }

    /// Stops the server and returns everything it logged.
    async fn stop(mut self) -> String {
        self.child.start_kill().unwrap();
        let _ = self.child.wait().await;
        self.reader.await.unwrap()
    }
}

const PASSWORD: &str = "Correct-Horse-Battery-Staple-42";
const WRONG: &str = "Wrong-Password-Never-Logged-77";

/// What the run uses that must never be logged.
struct Secrets {
    cookie: String,
    token: String,
    token2: String,
    key: String,
}

/// Registers, logs in (right and wrong), and reads `me` with the cookie:
/// the session cookie and two JWTs.
async fn accounts(b: &Brook) -> (String, String, String) {
    let r = b
        .http
        .post(b.url("/api/v1/auth/register"))
        .json(&json!({"email": "s@example.com", "password": PASSWORD, "name": "S"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let r = b
        .http
        .post(b.url("/api/v1/auth/login"))
        .json(&json!({"email": "s@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let token2 = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let r = b
        .http
        .post(b.url("/api/v1/auth/login"))
        .json(&json!({"email": "s@example.com", "password": WRONG}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = b
        .http
        .get(b.url("/api/v1/auth/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    (cookie, token, token2)
}

/// A personal API key, used on the OpenAI-compatible API.
async fn api_key(b: &Brook, token: &str) -> String {
    let r = b
        .http
        .post(b.url("/api/v1/keys"))
        .bearer_auth(token)
        .json(&json!({"name": "laptop"}))
        .send()
        .await
        .unwrap();
    let key = r.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("brk_"));
    let models: Value = b
        .http
        .get(b.url("/v1/models"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let model = models["data"][0]["id"].as_str().unwrap().to_string();
    let r = b
        .http
        .post(b.url("/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    key
}

/// The WebSocket with `?token=` and with the `auth` frame, then SSE and long
/// poll with `?token=`.
async fn transports(b: &Brook, token: &str, token2: &str) {
    let addr = &b.addr;
    let mut ws = WsClient::connect(&format!("ws://{addr}/ws/chat?token={token}"))
        .await
        .unwrap();
    let ack = ws.message("hello over the socket", None, None).await;
    ws.collect(ack["reply_id"].as_str().unwrap()).await;
    ws.close().await;
    let mut ws = WsClient::connect(&format!("ws://{addr}/api/v1/chat/ws")).await.unwrap();
    ws.send(json!({"type": "auth", "token": token2})).await;
    let ack = ws.message("after the auth frame", None, None).await;
    ws.collect(ack["reply_id"].as_str().unwrap()).await;
    ws.close().await;

    let r: Value = b
        .http
        .post(b.url("/api/v1/chat/messages"))
        .bearer_auth(token)
        .json(&json!({"message": "in the background"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reply = r["reply_id"].as_str().unwrap();
    let sse = b
        .http
        .get(b.url(&format!("/api/v1/chat/replies/{reply}/events?token={token}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(sse.contains("event: complete"), "{sse}");
    let r = b
        .http
        .get(b.url(&format!("/api/v1/chat/replies/{reply}/poll?after_seq=0&token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// The access lines and the connection id are there; no secret is.
fn check_log(log: &str, s: &Secrets) {
    assert!(log.contains("request finished"), "the access log: {log}");
    assert!(log.contains("request_id="), "{log}");
    assert!(
        log.contains("route=/api/v1/chat/replies/{id}/events"),
        "a route template: {log}"
    );
    assert!(log.contains("conn_id="), "the WebSocket's connection id: {log}");
    let cookie_value = s.cookie.split_once('=').unwrap().1.to_string();
    let signature = |jwt: &str| jwt.rsplit('.').next().unwrap().to_string();
    let secrets = [
        ("the password", PASSWORD.to_string()),
        ("a wrong password", WRONG.to_string()),
        ("the JWT", s.token.clone()),
        ("the JWT's signature", signature(&s.token)),
        ("the second JWT", s.token2.clone()),
        ("the cookie", cookie_value),
        ("the API key", s.key.clone()),
        ("the API key's secret part", s.key["brk_".len()..].to_string()),
        ("the upstream key", "sk-upstream-secret-do-not-log".to_string()),
    ];
    for (what, secret) in secrets {
        if let Some(line) = log.lines().find(|l| l.contains(&secret)) {
            panic!("{what} is in the log: {line}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_log() {
    let brook = Brook::start().await;
    let (cookie, token, token2) = accounts(&brook).await;
    let key = api_key(&brook, &token).await;
    transports(&brook, &token, &token2).await;
    let log = brook.stop().await;
    check_log(
        &log,
        &Secrets {
            cookie,
            token,
            token2,
            key,
        },
    );
}
