//! Replies over the WebSocket: the invariants of contract §3.3, resume, stop,
//! idempotency, queueing, live events across connections; one file per topic.

mod conversation;
mod invariants;
mod queue;
mod resume;

use rand::Rng;

use crate::helpers::*;

pub(super) fn random_pieces(rng: &mut impl Rng, n: usize) -> Vec<String> {
    const ALPHABET: &[&str] = &[
        "a", "b", " ", "\n", "é", "漢", "🙂", "\"", "\\", "<", "{", "}", "`", "*", "\t",
    ];
    (0..n)
        .map(|_| {
            let len = rng.random_range(1..6);
            (0..len)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
                .collect()
        })
        .collect()
}

pub(super) async fn stored(app: &TestApp, token: &str, session: &str, reply_id: &str) -> Value {
    let (_, page) = body(
        app.get(
            &format!("/api/v1/conversations/{session}/messages?limit=200"),
            Some(token),
        )
        .await,
    )
    .await;
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == reply_id)
        .cloned()
        .expect("reply stored")
}
