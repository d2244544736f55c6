//! Personal API keys (contract §10): shown once, stored hashed, `last_used_at`,
//! revocation at once, users only, and a key works wherever a JWT does.

use crate::both_backends;
use crate::helpers::*;

both_backends!(keys_lifecycle, keys_are_for_users_only);

async fn keys_lifecycle(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let t = Some(token.as_str());

    let (s, created) = body(app.post("/api/v1/keys", t, json!({"name": "laptop"})).await).await;
    assert_eq!(s, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("brk_") && key.len() >= 40, "{key}");
    assert_eq!(created["name"], "laptop");

    // Listed without the key, never used yet.
    let (_, list) = body(app.get("/api/v1/keys", t).await).await;
    assert_eq!(list["keys"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["keys"][0]["id"], id.as_str());
    assert_eq!(list["keys"][0]["last_used_at"], Value::Null);
    assert!(!list.to_string().contains(&key), "the key is shown once only");

    // Stored only as a hash.
    let rows = app
        .engine
        .store()
        .api_keys_of(&list_user(&app, &token).await)
        .await
        .unwrap();
    assert_eq!(rows[0].key_hash, engine::api_keys::hash_key(&key));
    assert!(!rows[0].key_hash.contains(&key[4..]));

    // Works as a Bearer token wherever a JWT does: REST and the WebSocket.
    let (s, me) = body(app.get("/api/v1/auth/me", Some(&key)).await).await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["role"], "user");
    let mut ws = app.ws_authed(&key).await;
    let ack = ws.message("hello over a key", Some("key-ws"), None).await;
    ws.collect(ack["reply_id"].as_str().unwrap()).await;
    let (_, list) = body(app.get("/api/v1/keys", t).await).await;
    assert!(list["keys"][0]["last_used_at"].is_string(), "{list}");

    // Revoked: refused on the very next request.
    let r = app.delete(&format!("/api/v1/keys/{id}"), t).await;
    assert_eq!(r.status(), 204);
    expect_error(app.get("/api/v1/auth/me", Some(&key)).await, 401, "AUTH_REQUIRED").await;
    expect_error(app.delete(&format!("/api/v1/keys/{id}"), t).await, 404, "NOT_FOUND").await;
    let (_, list) = body(app.get("/api/v1/keys", t).await).await;
    assert_eq!(list["keys"], json!([]));

    // Another user's key is not found; bad bodies get the contract's codes.
    let other = app.user_token().await;
    let (_, k2) = body(app.post("/api/v1/keys", Some(&other), json!({"name": "theirs"})).await).await;
    let their = format!("/api/v1/keys/{}", k2["id"].as_str().unwrap());
    expect_error(app.delete(&their, t).await, 404, "NOT_FOUND").await;
    expect_error(
        app.post("/api/v1/keys", t, json!({"name": "  "})).await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    expect_error(app.post("/api/v1/keys", t, json!({})).await, 400, "INVALID_FRAME").await;
    expect_error(
        app.get("/api/v1/auth/me", Some("brk_forged")).await,
        401,
        "AUTH_REQUIRED",
    )
    .await;
}

async fn list_user(app: &TestApp, token: &str) -> String {
    let (_, me) = body(app.get("/api/v1/auth/me", Some(token)).await).await;
    me["id"].as_str().unwrap().to_string()
}

async fn keys_are_for_users_only(b: Backend) {
    let Some(app) = app(b).await else { return };
    let (_, guest) = body(app.post("/api/v1/auth/guest", None, json!({})).await).await;
    let g = guest["token"].as_str().unwrap();
    expect_error(
        app.post("/api/v1/keys", Some(g), json!({"name": "mine"})).await,
        403,
        "FORBIDDEN",
    )
    .await;
    let (s, list) = body(app.get("/api/v1/keys", Some(g)).await).await;
    assert_eq!((s, list), (200, json!({"keys": []})));
    expect_error(
        app.post("/api/v1/keys", None, json!({"name": "x"})).await,
        401,
        "AUTH_REQUIRED",
    )
    .await;
}
