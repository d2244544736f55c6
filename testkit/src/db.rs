//! A fresh database per test: a temporary SQLite file, or a new PostgreSQL
//! database that is dropped afterwards.

use std::path::PathBuf;

/// Where the PostgreSQL tests connect (an administrative database they can
/// create others from).
pub fn postgres_admin_url() -> String {
    std::env::var("BROOK_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// CI sets `BROOK_REQUIRE_SERVICES=1`: a missing PostgreSQL or Redis fails the
/// run instead of skipping.
pub fn services_required() -> bool {
    std::env::var("BROOK_REQUIRE_SERVICES").is_ok_and(|v| v == "1" || v == "true")
}

pub enum TestDb {
    Sqlite { dir: PathBuf, url: String },
    Postgres { admin: String, name: String, url: String },
}

impl TestDb {
    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    pub fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!("brook-test-{}", uuid::Uuid::new_v4().simple()));
        let _ = std::fs::create_dir_all(&dir);
        let url = format!("sqlite://{}", dir.join("brook.db").display());
        TestDb::Sqlite { dir, url }
    }

    /// A new database on the test server, or `None` (after a loud message) when
    /// PostgreSQL is not there and not required.
    pub async fn postgres() -> Option<TestDb> {
        use sqlx::Connection;
        let admin = postgres_admin_url();
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) => {
                if services_required() {
                    panic!("PostgreSQL is required (BROOK_REQUIRE_SERVICES=1) but {admin} is unreachable: {e}");
                }
                eprintln!(
                    "\n*** SKIPPED: PostgreSQL at {admin} is unreachable ({e}); set BROOK_TEST_POSTGRES_URL ***\n"
                );
                return None;
            }
        };
        let name = format!("brook_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .ok()?;
        let _ = conn.close().await;
        let url = match admin.rfind('/') {
            Some(i) if admin[..i].contains("://") && !admin[..i].ends_with('/') => {
                format!("{}/{}", &admin[..i], name)
            }
            _ => format!("{}/{}", admin.trim_end_matches('/'), name),
        };
        Some(TestDb::Postgres { admin, name, url })
    }
}

impl TestDb {
    /// PostgreSQL only: ends every session connected to this database, as a
    /// restart of the server would (`pg_terminate_backend`, SQLSTATE 57P01 for
    /// their clients). The PostgreSQL server is shared, so it is not restarted
    /// for real. Returns how many sessions were ended (0 for SQLite).
    pub async fn terminate_backends(&self) -> u64 {
        use sqlx::Connection;
        let TestDb::Postgres { admin, name, .. } = self else {
            return 0;
        };
        let Ok(mut conn) = sqlx::PgConnection::connect(admin).await else {
            return 0;
        };
        let ended: Vec<(bool,)> = sqlx::query_as(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(name.as_str())
        .fetch_all(&mut conn)
        .await
        .unwrap_or_default();
        let _ = conn.close().await;
        ended.iter().filter(|(ok,)| *ok).count() as u64
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            TestDb::Sqlite { dir, .. } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            TestDb::Postgres { admin, name, .. } => {
                let (admin, name) = (admin.clone(), name.clone());
                // Drop runs outside any runtime we may block: use a thread with its own.
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                        return;
                    };
                    rt.block_on(async move {
                        use sqlx::Connection;
                        if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut c)
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}
