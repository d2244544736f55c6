//! Figures of a two-node run (printed, not asserted; issue 13's acceptance):
//! token frames per second delivered to a joined connection on the same node
//! and on the other node, the delay the other node adds per token (p50, p99),
//! and Redis commands per token (`INFO commandstats` before and after).

use std::time::{Duration, Instant};

use serde_json::json;
use testkit::ws::WsClient;
use testkit::Behaviour;

use super::node::{tokens_until_complete, Deployment, Node};

const TOKENS: usize = 3000;
const PACED: usize = 1000;

/// Arrival time of every token of `reply_id` on `ws`, by seq.
async fn arrivals(mut ws: WsClient, reply_id: String) -> Vec<(u64, Instant)> {
    let mut out = Vec::new();
    loop {
        let f = ws.recv().await.expect("frames until complete");
        if f["reply_id"] != reply_id.as_str() {
            continue;
        }
        match f["type"].as_str() {
            Some("token") => out.push((f["seq"].as_u64().unwrap(), Instant::now())),
            Some("complete") => return out,
            _ => {}
        }
    }
}

async fn redis_calls(d: &Deployment) -> u64 {
    let mut c = d.redis.clone();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut c)
        .await
        .unwrap();
    info.lines()
        .filter_map(|l| l.split("calls=").nth(1)?.split(',').next()?.parse::<u64>().ok())
        .sum()
}

fn rate(a: &[(u64, Instant)]) -> f64 {
    let span = a.last().unwrap().1 - a.first().unwrap().1;
    a.len() as f64 / span.as_secs_f64().max(1e-6)
}

/// One reply of `TOKENS` tokens, sent on `sender_node`, watched by a joined
/// connection on `listener_node`; returns the sender's and the listener's arrivals.
async fn run(
    d: &Deployment,
    sender_node: &Node,
    listener_node: &Node,
    reply: Behaviour,
) -> (Vec<(u64, Instant)>, Vec<(u64, Instant)>, u64) {
    let (token, user) = sender_node.register().await;
    let mut sender = sender_node.ws(&token).await;
    d.upstream.push(Behaviour::tokens(2));
    let first = sender.message("warm up", None, None).await;
    let session = first["session_id"].as_str().unwrap().to_string();
    tokens_until_complete(&mut sender, first["reply_id"].as_str().unwrap()).await;
    let mut listener = listener_node.ws(&token).await;
    let nodes = if std::ptr::eq(sender_node, listener_node) { 1 } else { 2 };
    d.subscribed(&d.prefix, &user, nodes).await;
    listener.send(json!({"type": "join", "session_id": session})).await;
    listener.recv_type("joined").await;

    d.upstream.push(reply);
    let before = redis_calls(d).await;
    let ack = sender.message("measure", Some(&session), None).await;
    let reply_id = ack["reply_id"].as_str().unwrap().to_string();
    let s = tokio::spawn(arrivals(sender, reply_id.clone()));
    let l = tokio::spawn(arrivals(listener, reply_id));
    let (s, l) = (s.await.unwrap(), l.await.unwrap());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let calls = redis_calls(d).await - before - 1;
    (s, l, calls)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_node_figures() {
    let Some(d) = Deployment::new().await else { return };
    let (n1, n2) = (d.node().await, d.node().await);

    let all: Vec<u64> = (1..=TOKENS as u64).collect();
    let (_, one, calls_one) = run(&d, &n1, &n1, Behaviour::tokens(TOKENS)).await;
    let (sender, other, calls_two) = run(&d, &n1, &n2, Behaviour::tokens(TOKENS)).await;
    assert_eq!(one.iter().map(|a| a.0).collect::<Vec<_>>(), all);
    assert_eq!(other.iter().map(|a| a.0).collect::<Vec<_>>(), all);
    // At a model's pace (a token every 3 ms), the delay the other node adds.
    let paced = Behaviour::tokens(PACED).delay(Duration::ZERO, Duration::from_millis(3));
    let (paced_sender, paced_other, _) = run(&d, &n1, &n2, paced).await;
    assert_eq!(paced_other.len(), PACED);

    println!("--- issue 13, two nodes on this machine (fake upstream) ---");
    println!("burst of {TOKENS} tokens, token frames/s to a joined connection:");
    println!("  same node  : {:.0}", rate(&one));
    println!("  other node : {:.0}", rate(&other));
    for (what, s, o) in [
        (format!("burst of {TOKENS} tokens"), &sender, &other),
        (format!("{PACED} tokens, one per 3 ms"), &paced_sender, &paced_other),
    ] {
        let mut added: Vec<f64> = s
            .iter()
            .zip(o.iter())
            .map(|(s, o)| o.1.saturating_duration_since(s.1).as_secs_f64() * 1000.0)
            .collect();
        added.sort_by(|a, b| a.total_cmp(b));
        println!(
            "{what}: delay the other node adds per token (ms): p50 {:.2}, p99 {:.2}, max {:.2}",
            percentile(&added, 0.5),
            percentile(&added, 0.99),
            added.last().unwrap()
        );
    }
    println!(
        "redis commands per token (burst): listener on the same node {:.2}, on the other node {:.2}",
        calls_one as f64 / TOKENS as f64,
        calls_two as f64 / TOKENS as f64
    );
}
