//! Every open client connection, for the file-descriptor budget (issue 11 §3).
//!
//! The process may hold at most `RLIMIT_NOFILE` descriptors; the database, the
//! log, the model provider's sockets (one per generating reply) and `/health`
//! need some of them. The table admits client connections up to a capacity that
//! keeps a reserve ([`capacity_for`]). At capacity a new connection is still
//! accepted: the oldest connection that is *idle* (no request in flight, not
//! upgraded: a slowloris, an idle keep-alive, a socket that sent nothing) is
//! closed to make room, so a flood of idle sockets can neither stop `/health`
//! nor cut off a user who is streaming. When nothing is idle the newcomer is
//! refused (accepted, then closed at once).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Descriptors kept for what is not a client connection, whatever the limit:
/// the database pools and files, the log, Redis, a listener's headroom. 512
/// covers them with room to spare: a node on SQLite held 24 after a few
/// messages (2026-11-30), and its pools grow to at most 64 connections of
/// 2 descriptors each (`store::pool_size`, the WAL file included).
pub const FIXED_RESERVE_MAX: usize = 512;

/// How many client connections a node holds under `fd_limit` descriptors
/// (`RLIMIT_NOFILE`). The reserve is a tenth of the limit, at least 64 and at
/// most [`FIXED_RESERVE_MAX`], plus one per generating reply (its upstream
/// socket), the latter at most a quarter of the limit. At 20,000 descriptors
/// and 256 replies: 20,000 − 512 − 256 = 19,232 (issue 16 asks for 19,000 idle
/// connections per node; decisions.md).
pub fn capacity_for(fd_limit: u64, max_active_replies: usize) -> usize {
    let limit = fd_limit.min(usize::MAX as u64) as usize;
    let reserve = (limit / 10).clamp(64, FIXED_RESERVE_MAX) + max_active_replies.min(limit / 4);
    limit.saturating_sub(reserve).max(1)
}

/// One connection's state, shared by its task, its IO and the table.
pub struct ConnState {
    pub id: u64,
    /// Requests whose response has not finished.
    in_flight: AtomicUsize,
    /// Set once the connection became a WebSocket (or otherwise left HTTP).
    detached: AtomicBool,
    /// When the last request finished (ms on the table's clock).
    idle_since_ms: AtomicU64,
    /// Wakes the idle watcher when `in_flight` changes.
    pub changed: Notify,
    /// Cancelled to close the connection now (shed by the table, or shutdown).
    pub shed: CancellationToken,
    /// A forwarded client's slot held for the connection's whole life (the
    /// WebSocket behind a trusted proxy, see `conn`).
    pub held: Mutex<Option<super::per_ip::IpGuard>>,
    epoch: std::time::Instant,
}

impl ConnState {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// A request started; the returned guard ends it.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_waiters();
        InFlight(self.clone())
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Milliseconds since the last request finished (0 while one is in flight).
    pub fn idle_ms(&self) -> u64 {
        if self.in_flight() > 0 {
            return 0;
        }
        self.now_ms().saturating_sub(self.idle_since_ms.load(Ordering::Acquire))
    }

    pub fn detach(&self) {
        self.detached.store(true, Ordering::Release);
    }

    fn sheddable(&self) -> bool {
        self.in_flight() == 0 && !self.detached.load(Ordering::Acquire) && !self.shed.is_cancelled()
    }
}

/// A request in flight on a connection (held by the response body until it ends).
pub struct InFlight(Arc<ConnState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.idle_since_ms.store(self.0.now_ms(), Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.changed.notify_waiters();
    }
}

/// The table of open connections.
pub struct Table {
    capacity: usize,
    next_id: AtomicU64,
    open: Mutex<BTreeMap<u64, Arc<ConnState>>>,
}

/// A connection's place in the table; dropping it (when the socket closes,
/// WebSocket included) frees the place.
pub struct Entry {
    table: Arc<Table>,
    pub state: Arc<ConnState>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(|p| p.into_inner());
        open.remove(&self.state.id);
    }
}

/// What [`Table::admit`] decided.
pub enum Admission {
    Admitted(Entry),
    /// Admitted after closing an idle connection to make room.
    AdmittedAfterShedding(Entry),
    /// At capacity with nothing idle: close the newcomer.
    Full,
}

impl Table {
    pub fn new(capacity: usize) -> Arc<Table> {
        Arc::new(Table {
            capacity,
            next_id: AtomicU64::new(1),
            open: Mutex::new(BTreeMap::new()),
        })
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes the oldest idle connection; whether there was one.
    pub fn shed_one(&self) -> bool {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        match open.values().find(|c| c.sheddable()) {
            Some(c) => {
                c.shed.cancel();
                true
            }
            None => false,
        }
    }

    /// Makes room for a new connection if needed.
    pub fn admit(self: &Arc<Self>) -> Admission {
        let mut shed = false;
        {
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            // Connections already told to close are on their way out: count them
            // only until they are gone, but do not shed twice for one newcomer.
            let live = open.values().filter(|c| !c.shed.is_cancelled()).count();
            if live >= self.capacity {
                match open.values().find(|c| c.sheddable()) {
                    Some(c) => {
                        c.shed.cancel();
                        shed = true;
                    }
                    None => return Admission::Full,
                }
            }
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let epoch = std::time::Instant::now();
            let state = Arc::new(ConnState {
                id,
                in_flight: AtomicUsize::new(0),
                detached: AtomicBool::new(false),
                idle_since_ms: AtomicU64::new(0),
                changed: Notify::new(),
                shed: CancellationToken::new(),
                held: Mutex::new(None),
                epoch,
            });
            open.insert(id, state.clone());
            let entry = Entry {
                table: self.clone(),
                state,
            };
            if shed {
                return Admission::AdmittedAfterShedding(entry);
            }
            Admission::Admitted(entry)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(a: Admission) -> Entry {
        match a {
            Admission::Admitted(e) | Admission::AdmittedAfterShedding(e) => e,
            Admission::Full => panic!("full"),
        }
    }

    #[test]
    fn capacity_keeps_a_reserve() {
        assert_eq!(capacity_for(1024, 256), 1024 - 102 - 256);
        assert_eq!(capacity_for(20_000, 256), 20_000 - 512 - 256);
        assert!(capacity_for(20_000, 256) >= 19_000);
        assert_eq!(capacity_for(4_000, 256), 4_000 - 400 - 256);
        assert_eq!(capacity_for(100, 256), 100 - 64 - 25);
        assert_eq!(capacity_for(10, 0), 1);
    }

    #[test]
    fn at_capacity_the_oldest_idle_goes_and_busy_ones_stay() {
        let t = Table::new(2);
        let busy = entry(t.admit());
        let _req = busy.state.begin();
        let idle = entry(t.admit());
        let third = t.admit();
        assert!(matches!(third, Admission::AdmittedAfterShedding(_)));
        assert!(idle.state.shed.is_cancelled(), "the idle one was told to close");
        assert!(
            !busy.state.shed.is_cancelled(),
            "a connection with a request in flight stays"
        );
        drop(idle);
        let third = entry(third);
        let _r3 = third.state.begin();
        assert!(
            matches!(t.admit(), Admission::Full),
            "nothing idle: the newcomer is refused"
        );
        third.state.detach();
        drop(_r3);
        assert!(matches!(t.admit(), Admission::Full), "a WebSocket is not shed");
    }
}
