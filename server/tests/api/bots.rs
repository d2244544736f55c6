//! Bots (contract §5).

use crate::both_backends;
use crate::helpers::*;

both_backends!(bot_crud_and_validation);

async fn bot_crud_and_validation(b: Backend) {
    let Some(app) =
        spawn_app(AppOptions::new(b).config(|c| c.models = vec!["gpt-4o-mini".into(), "llama3".into()])).await
    else {
        return;
    };
    let token = app.user_token().await;
    let t = Some(token.as_str());
    let (s, created) = body(
        app.post(
            "/api/v1/bots",
            t,
            json!({"name": "Support", "system_prompt": "Be brief.", "model": "llama3", "temperature": 0.2, "greeting": "Hello!",
                   "widget": {"enabled": true, "allowed_origins": ["http://localhost:4100"], "theme": {"color": "#123456", "position": "left", "title": "Help"}}}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["model"], "llama3");
    assert_eq!(created["widget"]["enabled"], true);
    assert_eq!(created["widget"]["allowed_origins"], json!(["http://localhost:4100"]));
    assert_eq!(created["widget"]["theme"]["position"], "left");
    assert!(created["widget"]["public_key"].as_str().unwrap().starts_with("pk_"));

    let (_, list) = body(app.get("/api/v1/bots", t).await).await;
    let names: Vec<&str> = list["bots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Assistant", "Support"]);

    let (s, edited) = body(
        app.patch(
            &format!("/api/v1/bots/{id}"),
            t,
            json!({"greeting": "Hi again", "widget": {"enabled": false}}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(edited["greeting"], "Hi again");
    assert_eq!(edited["widget"]["enabled"], false);
    assert_eq!(
        edited["widget"]["allowed_origins"],
        json!(["http://localhost:4100"]),
        "untouched fields stay"
    );

    invalid_bots_are_refused(&app, t, &id).await;

    let default_id = list["bots"][0]["id"].as_str().unwrap().to_string();
    expect_error(
        app.delete(&format!("/api/v1/bots/{default_id}"), t).await,
        409,
        "CONFLICT",
    )
    .await;
    assert_eq!(app.delete(&format!("/api/v1/bots/{id}"), t).await.status(), 204);
    expect_error(app.get(&format!("/api/v1/bots/{id}"), t).await, 404, "NOT_FOUND").await;
}

/// Every invalid field of a bot is refused with the contract's code, and the bot is untouched.
async fn invalid_bots_are_refused(app: &TestApp, t: Option<&str>, id: &str) {
    for (patch, what) in [
        (json!({"model": "gpt-5-ultra"}), "model not in BROOK_MODELS"),
        (json!({"temperature": 3.5}), "temperature"),
        (json!({"name": ""}), "empty name"),
        (json!({"name": "n".repeat(500)}), "long name"),
        (json!({"widget": {"allowed_origins": ["not an origin"]}}), "origin"),
        (
            json!({"widget": {"allowed_origins": ["https://a.com/path"]}}),
            "origin with path",
        ),
        (json!({"widget": {"theme": {"color": "red"}}}), "color"),
        (json!({"widget": {"theme": {"position": "top"}}}), "position"),
    ] {
        expect_error(
            app.patch(&format!("/api/v1/bots/{id}"), t, patch).await,
            422,
            "VALIDATION_ERROR",
        )
        .await;
        let _ = what;
    }
    expect_error(
        app.post("/api/v1/bots", t, json!({"system_prompt": "no name"})).await,
        400,
        "INVALID_FRAME",
    )
    .await;
    expect_error(
        app.post("/api/v1/bots", t, json!({"name": 5})).await,
        400,
        "INVALID_FRAME",
    )
    .await;
}
