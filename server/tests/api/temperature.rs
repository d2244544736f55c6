//! A bot's temperature is optional (issue 15): unset, nothing is sent upstream,
//! because gpt-5 and o-series models refuse the field with a 400.

use crate::both_backends;
use crate::helpers::*;

both_backends!(unset_temperature_is_not_sent_upstream);

/// Sends one message to `bot_id` over HTTP and returns the upstream request it caused.
async fn upstream_request_for(app: &TestApp, token: &str, bot_id: &str, session: &str) -> Value {
    let before = app.upstream().requests().len();
    let (s, reply) = body(
        app.post(
            "/api/v1/chat",
            Some(token),
            json!({"message": "hello", "session_id": session, "bot_id": bot_id}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{reply}");
    let requests = app.upstream().requests();
    assert_eq!(requests.len(), before + 1, "one upstream request per message");
    requests[before].clone()
}

async fn unset_temperature_is_not_sent_upstream(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let t = Some(token.as_str());

    // The default bot and a new bot without a temperature: unset, and absent upstream.
    let (_, list) = body(app.get("/api/v1/bots", t).await).await;
    let default = list["bots"][0].clone();
    assert_eq!(default["temperature"], Value::Null, "{default}");
    let sent = upstream_request_for(&app, &token, default["id"].as_str().unwrap(), "t-default").await;
    assert!(sent.get("temperature").is_none(), "no temperature upstream: {sent}");

    let (s, bot) = body(app.post("/api/v1/bots", t, json!({"name": "Reasoner"})).await).await;
    assert_eq!(s, 201, "{bot}");
    assert_eq!(bot["temperature"], Value::Null);
    let id = bot["id"].as_str().unwrap().to_string();
    let sent = upstream_request_for(&app, &token, &id, "t-new").await;
    assert!(sent.get("temperature").is_none(), "no temperature upstream: {sent}");

    // Set: sent. A patch that leaves it out keeps it.
    let path = format!("/api/v1/bots/{id}");
    let (s, set) = body(app.patch(&path, t, json!({"temperature": 0.3})).await).await;
    assert_eq!(s, 200, "{set}");
    let (_, kept) = body(app.patch(&path, t, json!({"greeting": "Hi"})).await).await;
    assert!((kept["temperature"].as_f64().unwrap() - 0.3).abs() < 1e-6, "{kept}");
    let sent = upstream_request_for(&app, &token, &id, "t-set").await;
    assert!((sent["temperature"].as_f64().unwrap() - 0.3).abs() < 1e-6, "{sent}");

    // `null` unsets it again.
    let (s, cleared) = body(app.patch(&path, t, json!({"temperature": null})).await).await;
    assert_eq!(s, 200, "{cleared}");
    assert_eq!(cleared["temperature"], Value::Null);
    let sent = upstream_request_for(&app, &token, &id, "t-cleared").await;
    assert!(sent.get("temperature").is_none(), "no temperature upstream: {sent}");

    expect_error(
        app.patch(&path, t, json!({"temperature": "warm"})).await,
        400,
        "INVALID_FRAME",
    )
    .await;
}
