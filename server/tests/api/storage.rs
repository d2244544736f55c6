//! Storage properties: concurrent writers, migrations, versions and recovery.

use std::sync::Arc;

use crate::both_backends;
use crate::helpers::*;
use engine::store::{ExchangeOutcome, NewExchange};

both_backends!(concurrent_writers_lose_nothing, migrations_twice_change_nothing);

async fn concurrent_writers_lose_nothing(b: Backend) {
    let Some(app) = app(b).await else { return };
    let (_, owner) = app.register("busy@example.com").await;
    let bot = engine::accounts::ensure_default_bot(app.engine.store().as_ref(), &owner, "m")
        .await
        .unwrap();
    let store = app.engine.store().clone();
    let mut tasks = Vec::new();
    for w in 0..50 {
        let store = store.clone();
        let (owner, bot) = (owner.clone(), bot.id.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..4 {
                let x = NewExchange {
                    owner_id: owner.clone(),
                    conversation_id: format!("writer-{}", w % 5),
                    bot_id: bot.clone(),
                    requested_bot_id: None,
                    title: "t".into(),
                    user_message_id: engine::ids::new_id(),
                    reply_id: engine::ids::new_id(),
                    content: format!("w{w} m{i}"),
                    client_id: Some(format!("c-{w}-{i}")),
                    preview: "p".into(),
                    now: engine::time::now_micros(),
                };
                assert!(matches!(
                    store.begin_exchange(&x).await.unwrap(),
                    ExchangeOutcome::Stored { .. }
                ));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut total = 0;
    for c in 0..5 {
        total += store
            .messages(&owner, &format!("writer-{c}"), 10_000, None)
            .await
            .unwrap()
            .len();
    }
    assert_eq!(total, 50 * 4 * 2, "every user message and reply stored");
}

async fn migrations_twice_change_nothing(b: Backend) {
    let Some(app) = app(b).await else { return };
    let token = app.user_token().await;
    let (session, _, _) = crate::authz::chat_once(&app, &token, "keep me", None).await;
    let store: Arc<dyn engine::store::Database> = engine::store::connect(app.db.url()).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    let (_, msgs) = body(
        app.get(&format!("/api/v1/conversations/{session}/messages"), Some(&token))
            .await,
    )
    .await;
    assert_eq!(msgs["messages"].as_array().unwrap().len(), 2);
    assert_eq!(msgs["messages"][0]["content"], "keep me");
}
