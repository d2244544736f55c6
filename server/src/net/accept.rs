//! The accept loop (issue 11 §3): admission by file-descriptor budget and per-IP
//! cap, TCP_NODELAY, one task per connection, graceful shutdown.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::conn::{self, Shared, Tracked};
use super::log_every::LogEvery;
use super::per_ip::PerIp;
use super::table::{Admission, Table};

/// One warning per kind per interval, however many events.
const LOG_INTERVAL: Duration = Duration::from_secs(10);
/// After `accept` fails for want of descriptors, wait this long before trying
/// again (the failing connection stays in the kernel's backlog meanwhile).
const EMFILE_PAUSE: Duration = Duration::from_millis(50);

static ACCEPT_FAILED: LogEvery = LogEvery::new(LOG_INTERVAL);
static REFUSED_PER_IP: LogEvery = LogEvery::new(LOG_INTERVAL);
static REFUSED_FULL: LogEvery = LogEvery::new(LOG_INTERVAL);
static SHED: LogEvery = LogEvery::new(LOG_INTERVAL);

/// Admission of connections before any byte is read.
pub struct Gate {
    pub table: Arc<Table>,
    /// Per peer address, for peers that are not trusted proxies.
    pub per_peer: PerIp,
}

/// Whether the error means the process or system ran out of descriptors.
fn out_of_descriptors(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(code) if code == 24 /* EMFILE */ || code == 23 /* ENFILE */)
}

/// Accepts until `shared.shutdown` is cancelled, then waits for the
/// connections still serving HTTP to finish (upgraded WebSockets are not
/// waited for: they close themselves on the server's own signal).
pub async fn run(listener: TcpListener, gate: Gate, shared: Arc<Shared>) -> io::Result<()> {
    let mut tasks = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            _ = shared.shutdown.cancelled() => break,
        };
        match accepted {
            Ok((tcp, peer)) => {
                if let Some(task) = admit(&gate, &shared, tcp, peer) {
                    tasks.spawn(task);
                }
            }
            Err(e) if out_of_descriptors(&e) => {
                if let Some(held_back) = ACCEPT_FAILED.due() {
                    tracing::warn!(error = %e, held_back, open = gate.table.len(), "accept failed: out of file descriptors; closing idle connections");
                }
                gate.table.shed_one();
                tokio::time::sleep(EMFILE_PAUSE).await;
            }
            Err(e) => {
                if let Some(held_back) = ACCEPT_FAILED.due() {
                    tracing::warn!(error = %e, held_back, "accept failed");
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    drop(listener);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Admits (or refuses, by closing it) an accepted socket.
fn admit(
    gate: &Gate,
    shared: &Arc<Shared>,
    tcp: TcpStream,
    peer: SocketAddr,
) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
    let trusted = shared.trusted.iter().any(|n| n.contains(&peer.ip()));
    let slot = if trusted {
        None
    } else {
        match gate.per_peer.try_acquire(peer.ip()) {
            Some(g) => Some(g),
            None => {
                if let Some(held_back) = REFUSED_PER_IP.due() {
                    tracing::warn!(ip = %peer.ip(), held_back, "connection refused: too many open connections from this address");
                }
                return None;
            }
        }
    };
    let entry = match gate.table.admit() {
        Admission::Admitted(e) => e,
        Admission::AdmittedAfterShedding(e) => {
            if let Some(held_back) = SHED.due() {
                tracing::warn!(
                    capacity = gate.table.capacity(),
                    held_back,
                    "at the connection budget: closing the oldest idle connection for a new one"
                );
            }
            e
        }
        Admission::Full => {
            if let Some(held_back) = REFUSED_FULL.due() {
                tracing::warn!(
                    capacity = gate.table.capacity(),
                    held_back,
                    "connection refused: at the connection budget and none is idle"
                );
            }
            return None;
        }
    };
    // Small frames (acks, tokens) must leave at once: no Nagle delay.
    let _ = tcp.set_nodelay(true);
    let state = entry.state.clone();
    let io = Tracked::new(tcp, entry, slot);
    Some(conn::serve(shared.clone(), io, state, peer))
}
