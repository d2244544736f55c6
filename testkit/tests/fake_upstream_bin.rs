//! The `fake-upstream` process the browser tests start: it prints one JSON
//! line with its addresses, and its control server queues what the next
//! completion gets. Also makes `cargo test --all-targets` build the binary, so
//! the browser suite finds it at `$CARGO_TARGET_DIR/debug/fake-upstream`
//! without a `cargo build` of its own (a different feature set: a rebuild).

use std::process::Stdio;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn prints_its_addresses_and_takes_orders() {
    engine::tls::install_crypto_provider();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_fake-upstream"))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("fake-upstream starts");
    let out = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).await.expect("first line");
    let addr: Value = serde_json::from_str(&line).expect("one JSON line");
    let base = addr["base_url"].as_str().expect("base_url").to_string();
    let control = addr["control"].as_str().expect("control").to_string();
    let http = reqwest::Client::new();
    let queued = http
        .post(format!("{control}/next"))
        .json(&json!({"status": 500}))
        .send()
        .await
        .expect("control answers");
    assert!(queued.status().is_success());
    let body = json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let failed = http
        .post(format!("{base}/chat/completions"))
        .json(&body)
        .send()
        .await
        .expect("upstream answers");
    assert_eq!(failed.status().as_u16(), 500, "the queued failure");
    let streamed = http
        .post(format!("{base}/chat/completions"))
        .json(&body)
        .send()
        .await
        .expect("upstream answers");
    assert_eq!(streamed.status().as_u16(), 200, "nothing queued: the default reply");
    let text = streamed.text().await.expect("body");
    assert!(text.contains("data: [DONE]"), "{text}");
    // A given text in pieces of 4 characters (the render benchmark's replies).
    let given = "# Héllo\n\nworld!";
    let set = http
        .post(format!("{control}/default"))
        .json(&json!({"text": given, "piece_chars": 4}))
        .send()
        .await
        .expect("control answers");
    assert!(set.status().is_success());
    let sse = http
        .post(format!("{base}/chat/completions"))
        .json(&body)
        .send()
        .await
        .expect("upstream answers")
        .text()
        .await
        .expect("body");
    assert_eq!(contents(&sse), ["# Hé", "llo\n", "\nwor", "ld!"]);
    child.kill().await.ok();
}

/// The `delta.content` of every chunk of an SSE body, in order.
fn contents(sse: &str) -> Vec<String> {
    sse.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| v["choices"][0]["delta"]["content"].as_str().map(str::to_string))
        .collect()
}
