//! What the streams and `/metrics` say about themselves: headers and formats.

use crate::helpers::*;
use crate::sqlite_only;

sqlite_only!(stream_headers);

async fn stream_headers(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let (_, acc) = body(
        app.post("/api/v1/chat/messages", Some(&token), json!({"message": "h"}))
            .await,
    )
    .await;
    let reply = acc["reply_id"].as_str().unwrap();
    let urls = [
        format!("/api/v1/chat/replies/{reply}/events?token={token}"),
        format!("/api/v1/chat/events?token={token}"),
    ];
    for u in urls {
        let r = app.http.get(app.url(&u)).send().await.unwrap();
        assert_eq!(r.headers()["cache-control"], "no-cache", "{u}");
        assert_eq!(r.headers()["x-accel-buffering"], "no", "{u}");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
    }
    let r = app
        .post("/api/v1/chat/stream", Some(&token), json!({"message": "h"}))
        .await;
    assert_eq!(r.headers()["x-vercel-ai-ui-message-stream"], "v1");
    assert_eq!(r.headers()["x-accel-buffering"], "no");
    assert_eq!(r.headers()["cache-control"], "no-cache");
    // The diagnostics page is served.
    let r = app.get("/ws/test", None).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Brook connection test"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text() {
    let Some(app) = app(Backend::Sqlite).await else { return };
    let token = app.user_token().await;
    let (s, _) = body(
        app.post("/api/v1/chat", Some(&token), json!({"message": "count me"}))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let r = app.get("/metrics", None).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = r.text().await.unwrap();
    assert!(text.contains("# TYPE brook_messages_total counter"), "{text}");
    assert!(text.contains("brook_messages_total 1"), "{text}");
    assert!(
        text.contains("brook_replies_finished_total{finish_reason=\"stop\"} 1"),
        "{text}"
    );
    assert!(text.contains("brook_tokens_total 5"), "{text}");
}
