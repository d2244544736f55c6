//! Shared test helpers.

pub use serde_json::{json, Value};
pub use testkit::ws::{Collected, WsClient};
pub use testkit::{spawn_app, AppOptions, Backend, Behaviour, TestApp};

/// Runs an `async fn(Backend)` test on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            }
        )*
    };
}

/// Runs an `async fn(Backend)` test on SQLite only.
#[macro_export]
macro_rules! sqlite_only {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            }
        )*
    };
}

pub async fn app(b: Backend) -> Option<TestApp> {
    spawn_app(AppOptions::new(b)).await
}

pub async fn body(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, v)
}

/// Asserts the contract's error shape, status and code.
pub fn assert_error(got: &(u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "status of {}", got.1);
    assert_eq!(got.1["code"], code, "code of {}", got.1);
    assert!(
        got.1["error"].as_str().is_some_and(|e| !e.is_empty()),
        "error message in {}",
        got.1
    );
}

/// Reads a response and asserts the contract's error shape, status and code.
pub async fn expect_error(r: reqwest::Response, status: u16, code: &str) {
    assert_error(&body(r).await, status, code);
}

/// A loopback port where nothing listens, kept so while the socket lives: it is
/// bound but never listening, so a connection to it is refused, and no other
/// test's server can take the port in the meantime (a listener bound and
/// dropped to find a free port leaves it free for anyone, and under a parallel
/// test run another server's upstream once answered there).
pub fn closed_port() -> (u16, tokio::net::TcpSocket) {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.bind("127.0.0.1:0".parse().unwrap()).expect("bound");
    let port = socket.local_addr().expect("its address").port();
    (port, socket)
}
