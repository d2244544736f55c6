//! Issue 11 §1 where it crashed: a stored message or reply of any shape renders
//! its conversation's page (`/c/{id}`, and `/`, which shows the latest
//! conversation) and the server keeps running. The server runs in this test's
//! process, so a stack overflow while rendering aborts the test instead of
//! passing. (The parser's own limits, families and sizes are in
//! `markdown/tests/hostile.rs`.)

use crate::helpers::*;
use crate::sqlite_only;

sqlite_only!(hostile_stored_text_renders_its_pages_and_the_server_stays_up);

/// The smallest inputs and its quadratic one, each with a piece of the
/// HTML it shows as (past 32 levels, plain text).
fn hostile_texts() -> Vec<(String, &'static str)> {
    vec![
        (format!("{}x", "- ".repeat(5_000)), "- - - - "),
        (format!("{} x", ">".repeat(6_000)), "&gt;&gt;&gt;&gt;"),
        ("[a".repeat(5_000), "[a[a[a[a"),
    ]
}

async fn hostile_stored_text_renders_its_pages_and_the_server_stays_up(b: Backend) {
    let Some(app) = app(b).await else { return };
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": "hostile@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    for (i, (text, shown)) in hostile_texts().into_iter().enumerate() {
        let session = format!("hostile-{i}");
        // The user's own message and the model's reply are the same text.
        app.upstream().push(Behaviour::pieces(vec![text.clone()]));
        let mut ws = app.ws_authed(&token).await;
        let ack = ws.message(&text, Some(&session), None).await;
        let c = ws.collect(ack["reply_id"].as_str().unwrap()).await;
        assert_eq!(c.response(), text, "the reply is stored as sent");
        for path in [format!("/c/{session}"), "/".to_string()] {
            let r = app
                .http
                .get(app.url(&path))
                .header("accept", "text/html")
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
            let html = r.text().await.unwrap();
            assert!(html.contains("</html>"), "{path}: a whole page");
            assert!(html.contains(shown), "{path}: the text is on the page");
        }
        assert_eq!(app.get("/health", None).await.status(), 200, "still serving");
    }
}
