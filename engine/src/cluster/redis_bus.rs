//! [`Bus`] over Redis pub/sub: one connection writes (every command a node sends
//! in order, pipelined), one RESP3 connection subscribes (the connection manager
//! reconnects and resubscribes by itself).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{PushInfo, PushKind, Value};
use tokio::sync::mpsc;

use super::bus::{Body, Bus, Envelope, Topic};

/// How long the health probe waits for `PONG`.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(800);
/// How long one pipeline may take before it counts as failed (and is dropped).
const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);
/// Most commands sent in one pipeline.
const MAX_PIPELINE: usize = 512;

/// A subscription change, applied in order by one task.
enum SubChange {
    Subscribe(String),
    Unsubscribe(String),
}

pub struct RedisBus {
    node: String,
    prefix: String,
    out: mpsc::UnboundedSender<redis::Cmd>,
    subs_tx: mpsc::UnboundedSender<SubChange>,
    subs: Mutex<HashMap<String, usize>>,
    healthy: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
}

fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(3)))
        .set_max_delay(Duration::from_secs(2))
}

/// A command connection that reconnects by itself, connected lazily (a node
/// starts even when Redis is down).
pub fn command_connection(client: &redis::Client) -> redis::RedisResult<ConnectionManager> {
    ConnectionManager::new_lazy_with_config(client.clone(), manager_config())
}

impl RedisBus {
    /// Starts the writer and the subscriber. Messages for this node (not its own
    /// echo) come out of the returned receiver in the order Redis delivered them.
    pub fn start(
        client: &redis::Client,
        node: String,
        prefix: String,
    ) -> redis::RedisResult<(Arc<RedisBus>, mpsc::UnboundedReceiver<Body>)> {
        let healthy = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicU64::new(0));
        let writer = command_connection(client)?;
        let (out, out_rx) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(writer, out_rx, healthy.clone(), dropped.clone()));

        let (push_tx, push_rx) = mpsc::unbounded_channel::<PushInfo>();
        let sub_conn = ConnectionManager::new_lazy_with_config(
            client.clone(),
            manager_config().set_push_sender(push_tx).set_automatic_resubscription(),
        )?;
        let (subs_tx, subs_rx) = mpsc::unbounded_channel();
        tokio::spawn(subscribe_loop(sub_conn, subs_rx));
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        tokio::spawn(read_loop(push_rx, in_tx, node.clone()));

        let bus = Arc::new(RedisBus {
            node,
            prefix,
            out,
            subs_tx,
            subs: Mutex::new(HashMap::new()),
            healthy,
            dropped,
        });
        bus.follow(Topic::Stop);
        Ok((bus, in_rx))
    }

    /// Queues any command behind everything queued before it (leases, Stream
    /// entries): the bus's order holds across them.
    pub fn send(&self, cmd: redis::Cmd) {
        let _ = self.out.send(cmd);
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Commands dropped while Redis was unreachable.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Bus for RedisBus {
    fn publish(&self, topic: &Topic, body: Body) {
        let env = Envelope {
            node: self.node.clone(),
            body,
        };
        let Ok(json) = serde_json::to_string(&env) else {
            return;
        };
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(topic.channel(&self.prefix)).arg(json);
        self.send(cmd);
    }

    fn follow(&self, topic: Topic) {
        let ch = topic.channel(&self.prefix);
        let mut subs = self.subs.lock().unwrap_or_else(|p| p.into_inner());
        let n = subs.entry(ch.clone()).or_insert(0);
        *n += 1;
        if *n == 1 {
            let _ = self.subs_tx.send(SubChange::Subscribe(ch));
        }
    }

    fn unfollow(&self, topic: Topic) {
        let ch = topic.channel(&self.prefix);
        let mut subs = self.subs.lock().unwrap_or_else(|p| p.into_inner());
        let Some(n) = subs.get_mut(&ch) else {
            return;
        };
        *n -= 1;
        if *n == 0 {
            subs.remove(&ch);
            let _ = self.subs_tx.send(SubChange::Unsubscribe(ch));
        }
    }

    fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }
}

/// Sends queued commands in order, as pipelines of whatever is waiting. A failed
/// pipeline is dropped (counted) and the next one goes to a fresh connection.
async fn write_loop(
    mut conn: ConnectionManager,
    mut rx: mpsc::UnboundedReceiver<redis::Cmd>,
    healthy: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
) {
    // A first PING so that `healthy` says the truth before any traffic.
    let ping = redis::cmd("PING").query_async::<Value>(&mut conn).await;
    healthy.store(ping.is_ok(), Ordering::Relaxed);
    let mut probe = tokio::time::interval(Duration::from_secs(1));
    loop {
        let first = tokio::select! {
            c = rx.recv() => match c { Some(c) => c, None => return },
            _ = probe.tick() => {
                // Bounded: while the manager retries a reconnect, the answer is "no".
                let ping = redis::cmd("PING");
                let answer = tokio::time::timeout(PROBE_TIMEOUT, ping.query_async::<Value>(&mut conn)).await;
                let ok = matches!(answer, Ok(Ok(_)));
                healthy.store(ok, Ordering::Relaxed);
                continue;
            }
        };
        let mut pipe = redis::pipe();
        pipe.add_command(first).ignore();
        let mut n = 1;
        while n < MAX_PIPELINE {
            match rx.try_recv() {
                Ok(c) => {
                    pipe.add_command(c).ignore();
                    n += 1;
                }
                Err(_) => break,
            }
        }
        let sent = tokio::time::timeout(WRITE_TIMEOUT, pipe.query_async::<()>(&mut conn)).await;
        match sent.unwrap_or_else(|_| Err(redis::RedisError::from((redis::ErrorKind::Io, "timed out")))) {
            Ok(()) => healthy.store(true, Ordering::Relaxed),
            Err(e) => {
                healthy.store(false, Ordering::Relaxed);
                dropped.fetch_add(n as u64, Ordering::Relaxed);
                tracing::warn!(error = %e, commands = n, "redis unreachable: cross-node messages dropped");
            }
        }
    }
}

/// Applies subscription changes in the order they were made, retrying while
/// Redis is away (the manager resubscribes what succeeded after a reconnect).
async fn subscribe_loop(mut conn: ConnectionManager, mut rx: mpsc::UnboundedReceiver<SubChange>) {
    while let Some(change) = rx.recv().await {
        for attempt in 0u64.. {
            let r = match &change {
                SubChange::Subscribe(ch) => conn.subscribe(ch).await,
                SubChange::Unsubscribe(ch) => conn.unsubscribe(ch).await,
            };
            match r {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "redis subscription change failed; retrying");
                    tokio::time::sleep(Duration::from_millis(250 * (attempt + 1).min(8))).await;
                }
            }
        }
    }
}

/// Decodes pushed messages, dropping this node's own echo.
async fn read_loop(mut rx: mpsc::UnboundedReceiver<PushInfo>, tx: mpsc::UnboundedSender<Body>, node: String) {
    while let Some(push) = rx.recv().await {
        if push.kind != PushKind::Message {
            continue;
        }
        let Some(Value::BulkString(payload)) = push.data.get(1) else {
            continue;
        };
        let env: Envelope = match serde_json::from_slice(payload) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "undecodable cluster message ignored");
                continue;
            }
        };
        if env.node == node {
            continue;
        }
        if tx.send(env.body).is_err() {
            return;
        }
    }
}
