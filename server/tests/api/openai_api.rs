//! The OpenAI-compatible API on the wire (contract §10): shapes, SSE framing,
//! OpenAI-shaped errors with §4's statuses, the bot's settings, the limits that
//! apply as to any message, and statelessness.

use crate::both_backends;
use crate::helpers::*;
use crate::openai_clients::key_and_bot;

both_backends!(completions_and_errors);

/// Asserts OpenAI's error shape, the status and `error.type`.
async fn expect_oai_error(r: reqwest::Response, status: u16, kind: &str) -> Value {
    let (s, v) = body(r).await;
    assert_eq!(s, status, "{v}");
    assert_eq!(v["error"]["type"], kind, "{v}");
    assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(v["error"]["code"].is_string(), "{v}");
    v
}

fn ask(model: &str, extra: Value) -> Value {
    let mut v = json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]});
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    v
}

/// The `data:` payloads of an SSE body, in order.
fn sse_data(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
        .map(str::to_string)
        .collect()
}

async fn completions_and_errors(b: Backend) {
    let opts = AppOptions::new(b).config(|c| c.models = vec!["gpt-4o-mini".into(), "tiny-model".into()]);
    let Some(app) = spawn_app(opts).await else { return };
    let (token, key, bot) = key_and_bot(&app).await;
    let k = Some(key.as_str());
    let id = bot["id"].as_str().unwrap();
    models_are_the_users_bots(&app, k, id).await;
    a_completion_and_a_streamed_one(&app, k, id).await;
    the_bots_temperature_applies(&app, &token, k, id).await;
    errors_are_openai_shaped(&app, &key, id).await;
    provider_failures(&app, k, id).await;
    // Stateless: nothing stored as a conversation.
    let (_, list) = body(app.get("/api/v1/conversations", Some(&token)).await).await;
    assert_eq!(list["conversations"], json!([]));
}

/// Models: the key's user's bots (the default one included).
async fn models_are_the_users_bots(app: &TestApp, k: Option<&str>, id: &str) {
    let (s, models) = body(app.get("/v1/models", k).await).await;
    assert_eq!(s, 200, "{models}");
    assert_eq!(models["object"], "list");
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{models}");
    assert!(ids.contains(&id));
    assert_eq!(models["data"][0]["object"], "model");
    expect_oai_error(app.get("/v1/models", None).await, 401, "authentication_error").await;
}

/// Not streamed (the request's temperature, max_tokens and stop go upstream),
/// then streamed with usage: chunks, a usage chunk without choices, `[DONE]`.
async fn a_completion_and_a_streamed_one(app: &TestApp, k: Option<&str>, id: &str) {
    let expected = Behaviour::default().text();
    let extra = json!({"temperature": 0.25, "max_tokens": 9, "stop": "END", "user": "u-1", "n": 1});
    let (s, done) = body(app.post("/v1/chat/completions", k, ask("Client Bot", extra)).await).await;
    assert_eq!(s, 200, "{done}");
    assert_eq!(done["object"], "chat.completion");
    assert_eq!(done["choices"][0]["message"]["content"], expected.as_str());
    assert_eq!(done["choices"][0]["finish_reason"], "stop");
    assert_eq!(done["usage"]["completion_tokens"], 5);
    let up = app.upstream().requests().pop().unwrap();
    assert!((up["temperature"].as_f64().unwrap() - 0.25).abs() < 1e-6, "{up}");
    assert_eq!(up["max_tokens"], 9);
    assert_eq!(up["stop"], json!(["END"]));
    assert_eq!(up["messages"][0]["content"], "You answer tests.");

    let r = app
        .post(
            "/v1/chat/completions",
            k,
            ask(id, json!({"stream": true, "stream_options": {"include_usage": true}})),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let data = sse_data(&r.text().await.unwrap());
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{data:?}");
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk"));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, expected);
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["completion_tokens"], 5);
    assert_eq!(chunks[chunks.len() - 2]["choices"][0]["finish_reason"], "stop");
}

/// The bot's own temperature applies when the request has none.
async fn the_bots_temperature_applies(app: &TestApp, token: &str, k: Option<&str>, id: &str) {
    app.patch(&format!("/api/v1/bots/{id}"), Some(token), json!({"temperature": 1.25}))
        .await;
    let (s, _) = body(app.post("/v1/chat/completions", k, ask(id, json!({}))).await).await;
    assert_eq!(s, 200);
    let up = app.upstream().requests().pop().unwrap();
    assert!((up["temperature"].as_f64().unwrap() - 1.25).abs() < 1e-6, "{up}");
}

/// Errors, OpenAI-shaped.
async fn errors_are_openai_shaped(app: &TestApp, key: &str, id: &str) {
    let k = Some(key);
    expect_oai_error(
        app.post("/v1/chat/completions", k, ask("nope", json!({}))).await,
        404,
        "not_found_error",
    )
    .await;
    let bad = app
        .post("/v1/chat/completions", Some("brk_wrong"), ask(id, json!({})))
        .await;
    expect_oai_error(bad, 401, "authentication_error").await;
    let no_messages = app.post("/v1/chat/completions", k, json!({"model": id})).await;
    expect_oai_error(no_messages, 400, "invalid_request_error").await;
    let r = app
        .http
        .post(app.url("/v1/chat/completions"))
        .bearer_auth(key)
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_oai_error(r, 400, "invalid_request_error").await;
    let image = json!({"model": id, "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]});
    expect_oai_error(
        app.post("/v1/chat/completions", k, image).await,
        400,
        "invalid_request_error",
    )
    .await;
    let long = json!({"model": id, "messages": [{"role": "user", "content": "x".repeat(16_001)}]});
    expect_oai_error(
        app.post("/v1/chat/completions", k, long).await,
        413,
        "invalid_request_error",
    )
    .await;
    expect_oai_error(app.get("/v1/nothing-here", k).await, 404, "not_found_error").await;
}

/// The provider failing before any text: retried, then a 502; failing midway:
/// an error event, and no `[DONE]`.
async fn provider_failures(app: &TestApp, k: Option<&str>, id: &str) {
    for _ in 0..3 {
        app.upstream().push(Behaviour::status(500, None));
    }
    let failed = app
        .post("/v1/chat/completions", k, ask(id, json!({"stream": true})))
        .await;
    let v = expect_oai_error(failed, 502, "api_error").await;
    assert!(!v.to_string().contains("test-key"), "{v}");

    // Failing midway: an error event, and no `[DONE]`.
    app.upstream().push(Behaviour::tokens(5).cut_after(2));
    let r = app
        .post("/v1/chat/completions", k, ask(id, json!({"stream": true})))
        .await;
    assert_eq!(r.status(), 200);
    let data = sse_data(&r.text().await.unwrap());
    let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert_eq!(last["error"]["type"], "api_error", "{data:?}");
    assert!(!data.iter().any(|d| d == "[DONE]"));
}

both_backends!(limits_quota_models_and_metrics);

async fn limits_quota_models_and_metrics(b: Backend) {
    let opts = AppOptions::new(b).config(|c| {
        c.daily_tokens_user = 5;
        c.models = vec!["gpt-4o-mini".into(), "tiny-model".into()];
    });
    let Some(mut app) = spawn_app(opts).await else { return };
    let (token, key, bot) = key_and_bot(&app).await;
    let k = Some(key.as_str());
    let id = bot["id"].as_str().unwrap().to_string();
    let metric = |text: &str, name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    let before = app.get("/metrics", None).await.text().await.unwrap();

    // Five completion tokens use up the day's quota.
    let (s, _) = body(app.post("/v1/chat/completions", k, ask(&id, json!({}))).await).await;
    assert_eq!(s, 200);
    let over = app.post("/v1/chat/completions", k, ask(&id, json!({}))).await;
    assert!(over.headers().contains_key("retry-after"));
    expect_oai_error(over, 429, "insufficient_quota").await;

    let after = app.get("/metrics", None).await.text().await.unwrap();
    assert_eq!(
        metric(&after, "brook_messages_total"),
        metric(&before, "brook_messages_total") + 1
    );
    assert_eq!(
        metric(&after, "brook_refusals_total"),
        metric(&before, "brook_refusals_total") + 1
    );
    assert!(
        after.contains("brook_replies_finished_total{finish_reason=\"stop\"} 1"),
        "{after}"
    );

    // A bot whose model the operator no longer offers is refused (BROOK_MODELS).
    app.patch(
        &format!("/api/v1/bots/{id}"),
        Some(&token),
        json!({"model": "tiny-model"}),
    )
    .await;
    app.shutdown().await;
    let url = app.db.url().to_string();
    let opts = AppOptions::new(b).config(move |c| {
        c.database_url = url;
        c.models = vec!["gpt-4o-mini".into()];
    });
    let Some(app2) = spawn_app(opts).await else { return };
    let refused = app2.post("/v1/chat/completions", k, ask(&id, json!({}))).await;
    expect_oai_error(refused, 422, "invalid_request_error").await;
    assert!(app2.upstream().requests().is_empty());
}
