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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_log() {
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
    // Read the log as it comes, so a full pipe never stalls the server.
    let mut stderr = child.stderr.take().unwrap();
    let reader = tokio::spawn(async move {
        let mut log = String::new();
        let _ = stderr.read_to_string(&mut log).await;
        log
    });
    let http = reqwest::Client::new();
    let url = |p: &str| format!("http://{addr}{p}");
    let mut up = false;
    for _ in 0..100 {
        if http.get(url("/health")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "brook did not come up");

    let password = "Correct-Horse-Battery-Staple-42";
    let wrong = "Wrong-Password-Never-Logged-77";
    let r = http
        .post(url("/api/v1/auth/register"))
        .json(&json!({"email": "s@example.com", "password": password, "name": "S"}))
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
    let r = http
        .post(url("/api/v1/auth/login"))
        .json(&json!({"email": "s@example.com", "password": password}))
        .send()
        .await
        .unwrap();
    let token2 = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let r = http
        .post(url("/api/v1/auth/login"))
        .json(&json!({"email": "s@example.com", "password": wrong}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(url("/api/v1/auth/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A personal API key, used on the OpenAI-compatible API.
    let r = http
        .post(url("/api/v1/keys"))
        .bearer_auth(&token)
        .json(&json!({"name": "laptop"}))
        .send()
        .await
        .unwrap();
    let key = r.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("brk_"));
    let models: Value = http
        .get(url("/v1/models"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let model = models["data"][0]["id"].as_str().unwrap().to_string();
    let r = http
        .post(url("/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The WebSocket with `?token=`, and with the `auth` frame.
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

    // SSE and long poll with `?token=`.
    let r: Value = http
        .post(url("/api/v1/chat/messages"))
        .bearer_auth(&token)
        .json(&json!({"message": "in the background"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reply = r["reply_id"].as_str().unwrap();
    let sse = http
        .get(url(&format!("/api/v1/chat/replies/{reply}/events?token={token}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(sse.contains("event: complete"), "{sse}");
    let r = http
        .get(url(&format!(
            "/api/v1/chat/replies/{reply}/poll?after_seq=0&token={token}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    child.start_kill().unwrap();
    let _ = child.wait().await;
    let log = reader.await.unwrap();

    assert!(log.contains("request finished"), "the access log: {log}");
    assert!(log.contains("request_id="), "{log}");
    assert!(
        log.contains("route=/api/v1/chat/replies/{id}/events"),
        "a route template: {log}"
    );
    assert!(log.contains("conn_id="), "the WebSocket's connection id: {log}");
    let cookie_value = cookie.split_once('=').unwrap().1.to_string();
    let signature = |jwt: &str| jwt.rsplit('.').next().unwrap().to_string();
    let secrets = [
        ("the password", password.to_string()),
        ("a wrong password", wrong.to_string()),
        ("the JWT", token.clone()),
        ("the JWT's signature", signature(&token)),
        ("the second JWT", token2.clone()),
        ("the cookie", cookie_value),
        ("the API key", key.clone()),
        ("the API key's secret part", key["brk_".len()..].to_string()),
        ("the upstream key", "sk-upstream-secret-do-not-log".to_string()),
    ];
    for (what, secret) in secrets {
        if let Some(line) = log.lines().find(|l| l.contains(&secret)) {
            panic!("{what} is in the log: {line}");
        }
    }
}
