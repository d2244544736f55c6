//! Password hashing is bounded (issue 18) and logins are throttled per account
//! (issue 11 §4.10): a flood of logins gets answers or `429`, never a crash,
//! and one account's guesses slow down whatever address they come from.

use std::time::Duration;

use crate::helpers::*;
use crate::sqlite_only;

sqlite_only!(
    a_login_flood_gets_answers_or_429_and_the_server_stays_up,
    failed_logins_slow_one_account_down,
    unknown_and_known_emails_take_the_same_time
);

async fn a_login_flood_gets_answers_or_429_and_the_server_stays_up(b: Backend) {
    let Some(app) = app(b).await else { return };
    let (_, _) = app.register("flood@example.com").await;
    let mut tasks = Vec::new();
    for i in 0..400 {
        let http = app.http.clone();
        let url = app.url("/api/v1/auth/login");
        // Half for an unknown email (the dummy hash), half wrong passwords for a known one.
        let email = if i % 2 == 0 {
            format!("nobody{i}@example.com")
        } else {
            "flood@example.com".to_string()
        };
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .json(&json!({"email": email, "password": format!("wrong password {i}")}))
                .send()
                .await
                .expect("an answer, not a dropped connection");
            let status = r.status().as_u16();
            let retry = r.headers().get("retry-after").is_some();
            let v: Value = r.json().await.unwrap_or(Value::Null);
            (status, retry, v)
        }));
    }
    let mut counts = std::collections::BTreeMap::new();
    for t in tasks {
        let (status, retry, v) = t.await.unwrap();
        match status {
            401 => assert_eq!(v["code"], "INVALID_CREDENTIALS"),
            429 => {
                assert_eq!(v["code"], "RATE_LIMITED", "{v}");
                assert!(retry, "429 carries Retry-After");
            }
            other => panic!("unexpected {other}: {v}"),
        }
        *counts.entry(status).or_insert(0) += 1;
    }
    assert!(
        counts.get(&429).copied().unwrap_or(0) > 0,
        "the queue overflowed: {counts:?}"
    );
    assert!(
        counts.get(&401).copied().unwrap_or(0) > 0,
        "some were checked: {counts:?}"
    );
    // The server is up, and a correct login works once the flood is over.
    assert_eq!(app.get("/health", None).await.status(), 200);
    let (_, _) = app.register("after@example.com").await;
}

async fn failed_logins_slow_one_account_down(b: Backend) {
    let Some(app) = app(b).await else { return };
    app.register("victim@example.com").await;
    let login = |password: &'static str| {
        app.post(
            "/api/v1/auth/login",
            None,
            json!({"email": "Victim@Example.com", "password": password}),
        )
    };
    for _ in 0..5 {
        expect_error(login("guess").await, 401, "INVALID_CREDENTIALS").await;
    }
    // The sixth failure starts the delays: the next attempt, even with the right
    // password, waits.
    expect_error(login("guess").await, 401, "INVALID_CREDENTIALS").await;
    let r = login("correct horse battery").await;
    assert_eq!(r.headers()["retry-after"], "1");
    expect_error(r, 429, "RATE_LIMITED").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    expect_error(login("guess").await, 401, "INVALID_CREDENTIALS").await;
    let r = login("correct horse battery").await;
    assert_eq!(r.headers()["retry-after"], "2", "the delay doubled");
    expect_error(r, 429, "RATE_LIMITED").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(login("correct horse battery").await.status(), 200);
    // A success starts afresh.
    expect_error(login("guess").await, 401, "INVALID_CREDENTIALS").await;
    assert_eq!(login("correct horse battery").await.status(), 200);
}

/// Equal work, not a timing assert: every path (known or unknown email, short
/// or over-long password, an account without a password) costs exactly one
/// argon2id computation, so response times do not tell which emails exist.
async fn unknown_and_known_emails_take_the_same_time(b: Backend) {
    let Some(app) = app(b).await else { return };
    app.register("timed@example.com").await;
    let guest = app.post("/api/v1/auth/guest", None, json!({})).await;
    assert_eq!(guest.status(), 201);
    let long = "p".repeat(5000);
    let accounts = &app.engine.accounts;
    // The first unknown email also makes the dummy hash once.
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"email": "warm@example.com", "password": "x"}),
    )
    .await;
    for (email, password) in [
        ("timed@example.com", "wrong password"),
        ("nobody@example.com", "wrong password"),
        ("timed@example.com", long.as_str()),
        ("nobody@example.com", long.as_str()),
        ("timed@example.com", ""),
    ] {
        let before = accounts.hashes_computed();
        let r = app
            .post(
                "/api/v1/auth/login",
                None,
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(r.status(), 401);
        assert_eq!(
            accounts.hashes_computed() - before,
            1,
            "{email} with a {}-byte password costs one hash",
            password.len()
        );
    }
    let before = accounts.hashes_computed();
    let ok = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "timed@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(accounts.hashes_computed() - before, 1);
}
