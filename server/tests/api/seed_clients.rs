//! Seed 002's example clients, unchanged apart from the URL and the token,
//! against `/ws/chat`: the Python `websockets` client and the browser
//! `ChatWebSocket` class driven from Node with the `ws` package. The code is
//! read from the seed itself (`../shared/seeds/002_*.txt`) so it cannot drift.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::helpers::*;

fn seed_text() -> Option<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/seeds");
    let entry = std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("002_"))?;
    std::fs::read_to_string(entry.path()).ok()
}

/// The fenced block of `lang` after `heading`.
fn block(text: &str, heading: &str, lang: &str) -> String {
    let from = text.find(heading).expect("heading in seed");
    let rest = &text[from..];
    let start = rest.find(&format!("```{lang}\n")).expect("code block") + lang.len() + 4;
    let end = rest[start..].find("```").expect("end of block");
    rest[start..start + end].to_string()
}

pub(crate) fn skip(what: &str) {
    if testkit::db::services_required() {
        panic!("{what} is required here (BROOK_REQUIRE_SERVICES=1)");
    }
    eprintln!("\n*** SKIPPED: {what} ***\n");
}

pub(crate) async fn run(mut cmd: tokio::process::Command) -> (bool, String) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let child = cmd.spawn().expect("spawn");
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("client finished in time")
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_seed_client_completes() {
    let Some(seed) = seed_text() else {
        return skip("../shared/seeds/002 (the seed clients)");
    };
    let python = std::process::Command::new("python3")
        .args(["-c", "import websockets"])
        .status();
    if !python.is_ok_and(|s| s.success()) {
        return skip("python3 with the websockets package (pip install websockets)");
    }
    let Some(app) = spawn_app(AppOptions::new(Backend::Sqlite).demo()).await else {
        return;
    };
    let token = app.user_token().await;
    let code = block(&seed, "## Python Client Example", "python")
        .replace("ws://localhost:8000/ws/chat", &app.ws_url("/ws/chat"))
        .replace("your_jwt_token", &token);
    let mut cmd = tokio::process::Command::new("python3");
    cmd.arg("-c").arg(&code);
    let (ok, out) = run(cmd).await;
    assert!(ok, "{out}");
    assert!(out.contains("Authenticated!"), "{out}");
    assert!(out.contains("Complete!"), "{out}");
    assert!(out.contains("Agent: Assistant"), "{out}");
    let expected = engine::provider::demo::demo_reply("What is the engine power?");
    assert!(out.contains(&format!("Response: {expected}")), "{out}");
    // Its conversation id was its own choice.
    assert_eq!(
        app.get("/api/v1/conversations/python-session-1", Some(&token))
            .await
            .status(),
        200
    );
}

pub(crate) fn node_modules() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../end2end/node_modules");
    p.join("ws").exists().then_some(p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_seed_client_completes() {
    let Some(seed) = seed_text() else {
        return skip("../shared/seeds/002 (the seed clients)");
    };
    let Some(modules) = node_modules() else {
        return skip("end2end/node_modules/ws (cd end2end && npm ci)");
    };
    let Some(app) = spawn_app(AppOptions::new(Backend::Sqlite).demo()).await else {
        return;
    };
    let token = app.user_token().await;
    let class = block(&seed, "## JavaScript Client Example", "javascript")
        .replace("ws://localhost:8000/ws/chat", &app.ws_url("/ws/chat"))
        .replace("your_jwt_token", &token);
    // The browser globals the example touches, and a verdict when it completes.
    let harness = format!(
        r#"
globalThis.WebSocket = require('ws');
const response = {{ textContent: '' }};
globalThis.document = {{ getElementById: () => response }};
const seen = {{ progress: 0, errors: [] }};
const origError = console.error;
console.error = (...a) => {{ seen.errors.push(a.join(' ')); origError(...a); }};
{class}
const origComplete = chat.onComplete;
chat.onComplete = (text, metadata) => {{
  origComplete(text, metadata);
  if (text !== response.textContent) {{ console.log('MISMATCH', JSON.stringify(text), JSON.stringify(response.textContent)); process.exit(2); }}
  if (seen.errors.length) {{ console.log('ERRORS', seen.errors); process.exit(3); }}
  console.log('SEED_JS_OK');
  chat.disconnect();
  setTimeout(() => process.exit(0), 100);
}};
setTimeout(() => {{ console.log('TIMEOUT'); process.exit(4); }}, 30000);
"#
    );
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg("-e").arg(&harness).env("NODE_PATH", &modules);
    let (ok, out) = run(cmd).await;
    assert!(ok, "{out}");
    assert!(out.contains("SEED_JS_OK"), "{out}");
    assert!(out.contains("Authenticated:"), "{out}");
    assert!(
        out.contains("[starting]") && out.contains("[generating]"),
        "progress reached the class: {out}"
    );
}
