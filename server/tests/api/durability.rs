//! What survives the process: `kill -9` mid-reply, and SIGTERM's drain. These run
//! the real `brook` binary as a child process.

use std::process::Stdio;
use std::time::Duration;

use crate::helpers::*;
use testkit::FakeUpstream;

pub(crate) struct Child {
    pub(crate) child: tokio::process::Child,
    pub(crate) addr: String,
}

pub(crate) async fn start(db: &str, upstream: &FakeUpstream, extra: &[(&str, &str)]) -> Child {
    start_limited(db, upstream, extra, None).await
}

/// As [`start`]; with `file_limit`, brook may not grow any file past that many
/// bytes (`RLIMIT_FSIZE` through `prlimit`), and `SIGXFSZ` is ignored so an
/// over-long write fails the way a full disk does instead of killing it.
pub(crate) async fn start_limited(
    db: &str,
    upstream: &FakeUpstream,
    extra: &[(&str, &str)],
    file_limit: Option<u64>,
) -> Child {
    engine::tls::install_crypto_provider();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let bin = env!("CARGO_BIN_EXE_brook");
    let mut cmd = match file_limit {
        None => tokio::process::Command::new(bin),
        Some(bytes) => {
            // `exec` twice: the child's pid stays brook's, so a kill reaches it.
            let mut c = tokio::process::Command::new("sh");
            c.arg("-c")
                .arg(format!("trap '' XFSZ; exec prlimit --fsize={bytes} -- \"$0\""))
                .arg(bin);
            c
        }
    };
    cmd.env("DATABASE_URL", db)
        .env_remove("BROOK_PROVIDER")
        .env("LEPTOS_SITE_ADDR", &addr)
        .env("OPENAI_BASE_URL", upstream.base_url())
        .env("OPENAI_API_KEY", "test")
        .env("BROOK_AUTH_RATE_LIMIT_PER_MIN", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("brook starts");
    let c = Child { child, addr };
    for _ in 0..100 {
        if reqwest::get(format!("http://{}/health", c.addr)).await.is_ok() {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("brook did not come up");
}

pub(crate) async fn register(addr: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/api/v1/auth/register"))
        .json(&json!({"email": "d@example.com", "password": "12345678"}))
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
}

pub(crate) async fn login(addr: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/api/v1/auth/login"))
        .json(&json!({"email": "d@example.com", "password": "12345678"}))
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
}

pub(crate) async fn messages(addr: &str, token: &str, session: &str) -> Vec<Value> {
    let r = reqwest::Client::new()
        .get(format!("http://{addr}/api/v1/conversations/{session}/messages"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["messages"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_reply_keeps_the_message_and_the_checkpoint() {
    let db = testkit::db::TestDb::sqlite();
    let upstream = FakeUpstream::start().await;
    upstream.set_default(Behaviour::tokens(400).delay(Duration::ZERO, Duration::from_millis(10)));
    let mut brook = start(db.url(), &upstream, &[]).await;
    let token = register(&brook.addr).await;
    let mut ws = testkit::ws::WsClient::connect(&format!("ws://{}/ws/chat?token={token}", brook.addr))
        .await
        .unwrap();
    ws.recv().await.unwrap();
    let ack = ws.message("survive this", Some("crash"), Some("c-1")).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    // Let it stream past a checkpoint (at most once a second).
    let mut last = 0;
    let until = tokio::time::Instant::now() + Duration::from_millis(1800);
    while tokio::time::Instant::now() < until {
        if let Some(f) = ws.recv_within(Duration::from_millis(200)).await {
            if f["type"] == "token" {
                last = f["seq"].as_u64().unwrap();
            }
        }
    }
    assert!(last > 50, "streamed {last}");
    brook.child.start_kill().unwrap(); // SIGKILL
    brook.child.wait().await.unwrap();

    let brook = start(db.url(), &upstream, &[]).await;
    let token = login(&brook.addr).await;
    let msgs = messages(&brook.addr, &token, "crash").await;
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0]["content"], "survive this");
    assert_eq!(msgs[0]["client_id"], "c-1");
    let reply = &msgs[1];
    assert_eq!(reply["id"], reply_id.as_str());
    assert_eq!(reply["status"], "interrupted");
    let seq = reply["metadata"]["seq"].as_u64().unwrap();
    assert!(seq > 0 && seq <= last, "checkpoint at {seq}, streamed {last}");
    let expected: String = (1..=seq).map(|i| format!("w{i} ")).collect();
    assert_eq!(
        reply["content"],
        expected.as_str(),
        "the checkpoint holds exactly the text up to its seq"
    );
    // Resume answers complete with the stored text and `interrupted`.
    let mut ws = testkit::ws::WsClient::connect(&format!("ws://{}/ws/chat?token={token}", brook.addr))
        .await
        .unwrap();
    ws.recv().await.unwrap();
    ws.send(json!({"type": "resume", "reply_id": reply_id, "after_seq": 0}))
        .await;
    let c = ws.recv_type("complete").await;
    assert_eq!(c["metadata"]["finish_reason"], "interrupted");
    assert_eq!(c["response"], expected.as_str());
    // The client id still deduplicates after the restart.
    let again = ws.message("survive this", None, Some("c-1")).await;
    assert_eq!(again["reply_id"], reply_id.as_str());
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_then_interrupts() {
    let db = testkit::db::TestDb::sqlite();
    let upstream = FakeUpstream::start().await;
    let mut brook = start(db.url(), &upstream, &[("BROOK_DRAIN_SECS", "2")]).await;
    let token = register(&brook.addr).await;
    let mut ws = testkit::ws::WsClient::connect(&format!("ws://{}/ws/chat?token={token}", brook.addr))
        .await
        .unwrap();
    ws.recv().await.unwrap();
    // One reply finishes within the drain, one cannot.
    upstream.push(Behaviour::tokens(20).delay(Duration::from_millis(200), Duration::from_millis(30)));
    let short = ws.message("short", Some("short"), None).await;
    upstream.push(Behaviour::tokens(1000).delay(Duration::ZERO, Duration::from_millis(20)));
    let long = ws.message("long", Some("long"), None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = brook.child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    // Live connections are told the server is going away.
    let mut completes = Vec::new();
    while let Some(f) = ws.recv_within(Duration::from_secs(10)).await {
        if f["type"] == "complete" {
            completes.push(f);
        }
    }
    let status = tokio::time::timeout(Duration::from_secs(15), brook.child.wait())
        .await
        .expect("exits")
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(ws.closed, Some(1001));
    let by_id = |id: &Value| completes.iter().find(|c| c["reply_id"] == *id).cloned();
    assert_eq!(
        by_id(&short["reply_id"]).expect("short finished")["metadata"]["finish_reason"],
        "stop"
    );
    let interrupted = by_id(&long["reply_id"]).expect("long told it was interrupted");
    assert_eq!(interrupted["metadata"]["finish_reason"], "interrupted");

    let brook = start(db.url(), &upstream, &[]).await;
    let token = login(&brook.addr).await;
    assert_eq!(messages(&brook.addr, &token, "short").await[1]["status"], "complete");
    let long_reply = &messages(&brook.addr, &token, "long").await[1];
    assert_eq!(long_reply["status"], "interrupted");
    assert!(
        !long_reply["content"].as_str().unwrap().is_empty(),
        "what streamed before shutdown is kept"
    );
}
