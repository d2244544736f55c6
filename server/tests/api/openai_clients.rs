//! Real OpenAI clients, unchanged, against Brook's `/v1` (contract §10): the
//! official `openai` Python package, the official `openai` npm package, and the
//! AI SDK's `@ai-sdk/openai-compatible` provider. Each gets only a base URL and
//! a personal API key; the answer comes from testkit's fake upstream through
//! the real `openai` provider. The scripts live in `server/tests/clients/`.

use std::path::{Path, PathBuf};

use crate::helpers::*;
use crate::seed_clients::{node_modules, run, skip};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients").join(name)
}

/// A user, a personal key, and a bot with a system prompt and no temperature.
pub async fn key_and_bot(app: &TestApp) -> (String, String, Value) {
    let token = app.user_token().await;
    let (s, key) = body(app.post("/api/v1/keys", Some(&token), json!({"name": "clients"})).await).await;
    assert_eq!(s, 201, "{key}");
    let (s, bot) = body(
        app.post(
            "/api/v1/bots",
            Some(&token),
            json!({"name": "Client Bot", "system_prompt": "You answer tests."}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{bot}");
    (token, key["key"].as_str().unwrap().to_string(), bot)
}

fn env_for(cmd: &mut tokio::process::Command, app: &TestApp, key: &str, bot: &Value) {
    cmd.env("BROOK_BASE_URL", app.url("/v1"))
        .env("BROOK_KEY", key)
        .env("BOT_ID", bot["id"].as_str().unwrap())
        .env("BOT_NAME", bot["name"].as_str().unwrap())
        .env("EXPECTED", Behaviour::default().text());
}

/// What every client run must leave behind: the bot's prompt and model went
/// upstream with no temperature, and no conversation was stored.
async fn check_upstream_and_nothing_stored(app: &TestApp, token: &str) {
    let requests = app.upstream().requests();
    assert!(!requests.is_empty());
    for r in &requests {
        assert_eq!(r["messages"][0]["role"], "system", "{r}");
        assert_eq!(r["messages"][0]["content"], "You answer tests.", "{r}");
        assert_eq!(r["model"], "gpt-4o-mini", "{r}");
        assert!(r.get("temperature").is_none(), "{r}");
    }
    let (_, list) = body(app.get("/api/v1/conversations", Some(token)).await).await;
    assert_eq!(list["conversations"], json!([]), "stateless: {list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_client() {
    let python = std::process::Command::new("python3")
        .args(["-c", "import openai"])
        .status();
    if !python.is_ok_and(|s| s.success()) {
        return skip("python3 with the openai package (pip install openai)");
    }
    let opts = AppOptions::new(Backend::Sqlite).config(|c| c.rate_limit_per_min = 3);
    let Some(app) = spawn_app(opts).await else { return };
    let (token, key, bot) = key_and_bot(&app).await;
    let mut cmd = tokio::process::Command::new("python3");
    cmd.arg(script("openai_python.py"));
    env_for(&mut cmd, &app, &key, &bot);
    let (ok, out) = run(cmd).await;
    assert!(ok && out.contains("PY_OPENAI_OK"), "{out}");
    assert_eq!(
        app.upstream().requests().len(),
        3,
        "three completions reached the model"
    );
    check_upstream_and_nothing_stored(&app, &token).await;
}

fn node_with(name: &str, modules: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(script(name)).env("NODE_PATH", modules);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_node_client() {
    let Some(modules) = node_modules().filter(|m| m.join("openai").exists()) else {
        return skip("end2end/node_modules/openai (cd end2end && npm ci)");
    };
    let Some(app) = spawn_app(AppOptions::new(Backend::Sqlite)).await else {
        return;
    };
    let (token, key, bot) = key_and_bot(&app).await;
    let mut cmd = node_with("openai_node.cjs", &modules);
    env_for(&mut cmd, &app, &key, &bot);
    let (ok, out) = run(cmd).await;
    assert!(ok && out.contains("NODE_OPENAI_OK"), "{out}");
    check_upstream_and_nothing_stored(&app, &token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ai_sdk_openai_compatible_provider() {
    let Some(modules) = node_modules().filter(|m| m.join("@ai-sdk/openai-compatible").exists()) else {
        return skip("end2end/node_modules/@ai-sdk/openai-compatible (cd end2end && npm ci)");
    };
    let Some(app) = spawn_app(AppOptions::new(Backend::Sqlite)).await else {
        return;
    };
    let (token, key, bot) = key_and_bot(&app).await;
    let mut cmd = node_with("aisdk_node.cjs", &modules);
    env_for(&mut cmd, &app, &key, &bot);
    let (ok, out) = run(cmd).await;
    assert!(ok && out.contains("AISDK_OK"), "{out}");
    assert_eq!(app.upstream().requests().len(), 2);
    let streamed = &app.upstream().requests()[1];
    assert_eq!(
        streamed["messages"][1]["content"], "Extra rules.",
        "the request's system message follows the bot's"
    );
    check_upstream_and_nothing_stored(&app, &token).await;
}
