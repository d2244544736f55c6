//! Issue 15's operations: `/metrics` through the metrics library (its
//! histograms move with a chat exchange; each app has its own registry), request
//! ids, compression that never touches a stream, and the cache headers of
//! pages and the bundle. The docs name every metric the server exports.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use crate::helpers::*;
use crate::{both_backends, sqlite_only};

both_backends!(histograms_move_with_a_chat_exchange);
sqlite_only!(
    request_ids_are_kept_made_and_echoed,
    compression_spares_streams,
    bundle_and_widget_cache_and_revalidate,
    every_exported_metric_is_documented
);

/// The value of a sample line `name{labels} value` (0 when absent).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The sum of every `NAME_count{…}` sample of a histogram.
fn count(text: &str, name: &str) -> f64 {
    let prefix = format!("{name}_count");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn scrape(app: &TestApp) -> String {
    let r = app.get("/metrics", None).await;
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

async fn histograms_move_with_a_chat_exchange(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let before = scrape(&app).await;
    for name in [
        "brook_time_to_first_token_seconds",
        "brook_reply_duration_seconds",
        "brook_upstream_latency_seconds",
        "brook_ack_latency_seconds",
    ] {
        assert_eq!(count(&before, name), 0.0, "{name} before any message");
    }
    assert!(before.contains("# TYPE process_start_time_seconds gauge"), "{before}");
    assert!(before.contains("brook_build_info{version=\""), "{before}");

    // One exchange over the WebSocket (five tokens from the fake model), one over HTTP.
    let mut ws = app.ws_authed(&token).await;
    let ack = ws.message("hello metrics", None, None).await;
    let c = ws.collect(ack["reply_id"].as_str().unwrap()).await;
    assert_eq!(c.seqs().len(), 5);
    let during = scrape(&app).await;
    assert_eq!(
        sample(&during, "brook_connections{transport=\"websocket\"}"),
        1.0,
        "{during}"
    );
    let (s, _) = body(
        app.post("/api/v1/chat", Some(&token), json!({"message": "and http"}))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    ws.close().await;

    let after = scrape(&app).await;
    assert_eq!(count(&after, "brook_time_to_first_token_seconds"), 2.0, "{after}");
    assert_eq!(count(&after, "brook_reply_duration_seconds"), 2.0, "{after}");
    assert_eq!(count(&after, "brook_upstream_latency_seconds"), 2.0, "{after}");
    assert_eq!(
        sample(&after, "brook_ack_latency_seconds_count{transport=\"websocket\"}"),
        1.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, "brook_ack_latency_seconds_count{transport=\"http\"}"),
        1.0,
        "{after}"
    );
    // HTTP requests by route template and status; a bucket holds them all.
    let chat = "brook_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/chat\",status=\"200\"}";
    assert_eq!(sample(&after, chat), 1.0, "{after}");
    assert!(
        count(&after, "brook_http_request_duration_seconds") > count(&before, "brook_http_request_duration_seconds"),
        "{after}"
    );
    assert!(
        after.contains("brook_reply_duration_seconds_bucket{finish_reason=\"stop\",le=\"+Inf\"} 2"),
        "{after}"
    );
    // Tokens as they streamed: five each; usage by bot and model.
    assert_eq!(sample(&after, "brook_tokens_total"), 10.0, "{after}");
    assert_eq!(sample(&after, "brook_messages_total"), 2.0, "{after}");
    assert!(
        after
            .lines()
            .any(|l| l.starts_with("brook_usage_tokens_total{bot=\"") && l.contains("type=\"completion\"")),
        "{after}"
    );
    assert_eq!(sample(&after, "brook_replies_active"), 0.0, "{after}");
    assert_eq!(sample(&after, "brook_replies_queued"), 0.0, "{after}");

    // Another app in this process has its own registry.
    let Some(other) = spawn_app(AppOptions::new(b)).await else {
        return;
    };
    let fresh = scrape(&other).await;
    assert_eq!(sample(&fresh, "brook_messages_total"), 0.0, "{fresh}");
    assert_eq!(count(&fresh, "brook_time_to_first_token_seconds"), 0.0, "{fresh}");
}

async fn request_ids_are_kept_made_and_echoed(b: Backend) {
    let Some(app) = app(b).await else { return };
    let r = app.get("/health", None).await;
    let made = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(made.len(), 36, "a UUID: {made}");
    let r = app.get("/health", None).await;
    assert_ne!(r.headers()["x-request-id"].to_str().unwrap(), made, "one per request");

    let sane = "trace-4bf92f3577b34da6:00f067aa0ba902b7";
    let r = app
        .http
        .get(app.url("/api/v1/auth/me"))
        .header("x-request-id", sane)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], sane);
    let (s, v) = body(r).await;
    assert_eq!(s, 401);
    assert_eq!(v["code"], "AUTH_REQUIRED");
    assert_eq!(v["request_id"], sane, "the id in the error body: {v}");

    // An id that could forge a log line is replaced.
    let r = app
        .http
        .get(app.url("/api/v1/no-such-endpoint"))
        .header("x-request-id", "x\" injected=\"1")
        .send()
        .await
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "{id}");
    let (s, v) = body(r).await;
    assert_eq!(s, 404);
    assert_eq!(v["request_id"], id.as_str());
}

async fn compression_spares_streams(b: Backend) {
    let Some(app) = spawn_app(AppOptions::new(b)).await else {
        return;
    };
    let token = app.user_token().await;
    // A dynamic answer is gzipped for a client that accepts it.
    let r = app
        .http
        .get(app.url("/metrics"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let gz = r.bytes().await.unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
    assert!(text.contains("brook_messages_total"));

    // A stream is never compressed, and its first event arrives while the
    // model is still writing (a buffered stream would arrive whole at the end).
    app.upstream()
        .set_default(Behaviour::tokens(6).delay(Duration::ZERO, Duration::from_millis(400)));
    let started = std::time::Instant::now();
    let mut r = app
        .http
        .post(app.url("/api/v1/chat/stream"))
        .bearer_auth(&token)
        .header("accept-encoding", "gzip, br")
        .json(&json!({"message": "stream me"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("content-encoding").is_none(), "{:?}", r.headers());
    let mut seen = String::new();
    while !seen.contains("text-delta") {
        let chunk = r.chunk().await.unwrap().expect("the stream goes on");
        seen.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the first delta came after {:?}: buffered",
        started.elapsed()
    );
    while r.chunk().await.unwrap().is_some() {}
}

async fn bundle_and_widget_cache_and_revalidate(b: Backend) {
    let site = std::env::temp_dir().join(format!("brook-site-{}", uuid::Uuid::new_v4().simple()));
    let plain = "console.log('brook');".repeat(50);
    for dir in ["pkg", "widget"] {
        std::fs::create_dir_all(site.join(dir)).unwrap();
    }
    let files = ["pkg/brook.0123456789abcdef.js", "pkg/plain.js", "widget/widget.js"];
    for f in files {
        std::fs::write(site.join(f), &plain).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(plain.as_bytes()).unwrap();
        std::fs::write(site.join(format!("{f}.gz")), gz.finish().unwrap()).unwrap();
        // A stand-in for brotli's output: the server sends the file as is.
        std::fs::write(site.join(format!("{f}.br")), b"brotli bytes").unwrap();
    }
    let root = site.clone();
    let Some(app) = spawn_app(AppOptions::new(b).config(move |c| c.site_root = root)).await else {
        return;
    };
    let get = |path: &str, encodings: &str| app.http.get(app.url(path)).header("accept-encoding", encodings).send();
    let r = get("/pkg/brook.0123456789abcdef.js", "gzip, br").await.unwrap();
    assert_eq!(r.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(r.headers()["content-encoding"], "br", "brotli preferred");
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"brotli bytes");
    let r = get("/pkg/brook.0123456789abcdef.js", "gzip").await.unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let r = get("/pkg/plain.js", "gzip").await.unwrap();
    assert_eq!(
        r.headers()["cache-control"],
        "no-cache",
        "a name without a hash is revalidated"
    );
    let r = get("/pkg/brook.fedcba9876543210.js", "gzip").await.unwrap();
    assert_eq!(r.status(), 404);
    assert_ne!(r.headers()["cache-control"], "public, max-age=31536000, immutable");

    // The widget loader: precompressed, public, revalidated with Last-Modified.
    let r = get("/widget.js", "gzip, br").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "br");
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let modified = r.headers()["last-modified"].to_str().unwrap().to_string();
    let r = app
        .http
        .get(app.url("/widget.js"))
        .header("accept-encoding", "gzip")
        .header("if-modified-since", &modified)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    assert!(r.bytes().await.unwrap().is_empty());
    let r = app.get("/widget.js", None).await;
    assert_eq!(r.text().await.unwrap(), plain);

    // Pages are revalidated: they name the current bundle.
    let r = app
        .http
        .get(app.url("/no/such/page"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let _ = std::fs::remove_dir_all(site);
}

/// Every metric in a scrape, and every one the Grafana dashboard plots, is
/// described in docs/operations.md; the dashboard is valid JSON.
async fn every_exported_metric_is_documented(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let (s, _) = body(app.post("/api/v1/chat", Some(&token), json!({"message": "hi"})).await).await;
    assert_eq!(s, 200);
    let text = scrape(&app).await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = std::fs::read_to_string(root.join("docs/operations.md")).unwrap();
    let exported: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert!(exported.len() >= 15, "{exported:?}");
    for name in &exported {
        assert!(doc.contains(&format!("`{name}`")), "docs/operations.md lacks `{name}`");
    }
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("docs/grafana/brook.json")).unwrap()).unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 10);
    for p in panels {
        for t in p["targets"].as_array().unwrap() {
            let expr = t["expr"].as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                let name = ["_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|s| word.strip_suffix(s))
                    .unwrap_or(word);
                if name.starts_with("brook_") || name.starts_with("process_") {
                    assert!(
                        doc.contains(&format!("`{name}`")),
                        "the dashboard plots undocumented {name}"
                    );
                }
            }
        }
    }
}
