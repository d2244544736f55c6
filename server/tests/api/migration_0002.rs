//! Migration 0002 on a database made by 0001 (issue 15): existing rows keep
//! working, bots holding the old 0.7 default become unset, chosen temperatures
//! stay, and the API key table appears.

use std::path::{Path, PathBuf};

use crate::both_backends;
use crate::helpers::*;
use testkit::db::TestDb;

both_backends!(old_default_temperature_becomes_unset);

const USER: &str = "INSERT INTO users (id, email, name, role, password_hash, bot_id, created_at) \
                    VALUES ('u1', 'old@example.com', 'Old', 'user', NULL, NULL, 1)";
const BOT: &str = "INSERT INTO bots (id, owner_id, name, system_prompt, model, temperature, public_key, \
                   is_default, created_at, updated_at) VALUES ($1, 'u1', $2, '', 'gpt-4o-mini', $3, $4, $5, 1, 1)";

/// A directory holding only the first migration of `backend`.
fn first_migration_only(backend: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(backend);
    let dir = std::env::temp_dir().join(format!("brook-mig-{}", engine::ids::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(src.join("0001_initial.sql"), dir.join("0001_initial.sql")).unwrap();
    dir
}

async fn seed_sqlite(url: &str) {
    use std::str::FromStr;
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .unwrap()
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    let m = sqlx::migrate::Migrator::new(first_migration_only("sqlite"))
        .await
        .unwrap();
    m.run(&pool).await.unwrap();
    sqlx::query(USER).execute(&pool).await.unwrap();
    for (id, t, default) in [("b-old", 0.7f64, 1i64), ("b-chosen", 0.5, 0)] {
        sqlx::query(BOT)
            .bind(id)
            .bind(id)
            .bind(t)
            .bind(format!("pk_{id}"))
            .bind(default)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
}

async fn seed_postgres(url: &str) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let m = sqlx::migrate::Migrator::new(first_migration_only("postgres"))
        .await
        .unwrap();
    m.run(&pool).await.unwrap();
    sqlx::query(USER).execute(&pool).await.unwrap();
    for (id, t, default) in [("b-old", 0.7f64, 1i64), ("b-chosen", 0.5, 0)] {
        sqlx::query(BOT)
            .bind(id)
            .bind(id)
            .bind(t)
            .bind(format!("pk_{id}"))
            .bind(default)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
}

async fn old_default_temperature_becomes_unset(b: Backend) {
    let db = match b {
        Backend::Sqlite => TestDb::sqlite(),
        Backend::Postgres => match TestDb::postgres().await {
            Some(db) => db,
            None => return,
        },
    };
    match b {
        Backend::Sqlite => seed_sqlite(db.url()).await,
        Backend::Postgres => seed_postgres(db.url()).await,
    }
    let store = engine::store::connect(db.url()).await.expect("0002 applies");
    let old = store.bot("b-old").await.unwrap().expect("bot kept");
    assert_eq!(old.temperature, None, "the old default is unset");
    assert!(old.is_default);
    let chosen = store.bot("b-chosen").await.unwrap().expect("bot kept");
    assert_eq!(chosen.temperature, Some(0.5), "a chosen temperature stays");
    assert_eq!(
        store.default_bot("u1").await.unwrap().map(|b| b.id),
        Some("b-old".to_string())
    );
    assert!(store.user_by_email("old@example.com").await.unwrap().is_some());
    assert!(store.api_keys_of("u1").await.unwrap().is_empty());
    // Running the migrations again changes nothing.
    store.migrate().await.unwrap();
    store.close().await;
}
