//! Migration 0003 (issue 14) on a database made by 0001 and 0002 with data in
//! it: conversations read back with `mode: ai` and nothing unread, messages with
//! `read_at: null` and `feedback: null`, full-text search still finds old
//! messages, and the new `operator` role can be stored.

use std::path::{Path, PathBuf};

use crate::both_backends;
use crate::helpers::*;
use engine::store::{ConversationQuery, NewOperatorMessage, OperatorOutcome};
use testkit::db::TestDb;

both_backends!(existing_data_keeps_working);

const SEED: [&str; 4] = [
    "INSERT INTO users (id, email, name, role, password_hash, bot_id, created_at) \
     VALUES ('u1', 'old@example.com', 'Old', 'user', NULL, NULL, 1)",
    "INSERT INTO conversations (owner_id, id, bot_id, title, created_at, updated_at, last_message_preview) \
     VALUES ('u1', 'c1', 'b1', 'Old chat', 1, 2, 'hello')",
    "INSERT INTO messages (id, owner_id, conversation_id, role, content, status, reply_id, created_at) \
     VALUES ('m1', 'u1', 'c1', 'user', 'hello zebra', 'complete', 'm2', 1)",
    "INSERT INTO messages (id, owner_id, conversation_id, role, content, status, in_reply_to, created_at) \
     VALUES ('m2', 'u1', 'c1', 'assistant', 'hi there', 'complete', 'm1', 2)",
];

/// A directory holding the migrations before 0003 of `backend`.
fn before_0003(backend: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(backend);
    let dir = std::env::temp_dir().join(format!("brook-mig3-{}", engine::ids::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["0001_initial.sql", "0002_api_keys_optional_temperature.sql"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    dir
}

async fn seed(b: Backend, url: &str) {
    match b {
        Backend::Sqlite => {
            use std::str::FromStr;
            let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .unwrap()
                .create_if_missing(true)
                .foreign_keys(true);
            let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
            let m = sqlx::migrate::Migrator::new(before_0003("sqlite")).await.unwrap();
            m.run(&pool).await.unwrap();
            for q in SEED {
                sqlx::query(q).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let m = sqlx::migrate::Migrator::new(before_0003("postgres")).await.unwrap();
            m.run(&pool).await.unwrap();
            for q in SEED {
                sqlx::query(q).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
    }
}

async fn existing_data_keeps_working(b: Backend) {
    let db = match b {
        Backend::Sqlite => TestDb::sqlite(),
        Backend::Postgres => match TestDb::postgres().await {
            Some(db) => db,
            None => return,
        },
    };
    seed(b, db.url()).await;
    let store = engine::store::connect(db.url()).await.expect("0003 applies");
    let c = store.conversation("u1", "c1").await.unwrap().expect("kept");
    let wire = c.to_conversation();
    assert_eq!(serde_json::to_value(&wire).unwrap()["mode"], "ai");
    assert_eq!(wire.unread_count, 0, "what existed before counts as read");
    let msgs = store.messages("u1", "c1", 10, None).await.unwrap();
    assert_eq!(msgs.len(), 2);
    for m in &msgs {
        let v = serde_json::to_value(m.to_message()).unwrap();
        assert!(v["read_at"].is_null() && v["feedback"].is_null(), "{v}");
    }
    assert_eq!(msgs[0].to_message().metadata["version"], 1, "versions still count");
    // The rebuilt table keeps its full-text index in step.
    let found = store
        .conversations(&ConversationQuery {
            owner_id: "u1".into(),
            limit: 10,
            after: None,
            terms: vec!["zebra".into()],
            text: Some("zebra".into()),
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "old messages are still searchable");
    // The new role stores.
    let out = store
        .insert_operator_message(&NewOperatorMessage {
            owner_id: "u1".into(),
            conversation_id: "c1".into(),
            id: "m3".into(),
            content: "a person here".into(),
            client_id: None,
            metadata: "{\"author\":{\"name\":\"Ada\"}}".into(),
            preview: "a person here".into(),
            now: 3,
        })
        .await
        .unwrap();
    assert!(matches!(out, OperatorOutcome::Stored { .. }));
    let c = store.conversation("u1", "c1").await.unwrap().unwrap();
    assert_eq!(c.to_conversation().unread_count, 1);
    // Running the migrations again changes nothing.
    store.migrate().await.unwrap();
    store.close().await;
}
