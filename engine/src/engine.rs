//! [`Engine`]: everything a request needs, built once at start-up and shared by
//! the Axum handlers and the Leptos server functions.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use protocol::objects::FinishReason;

use crate::accounts::Accounts;
use crate::chat::scheduler::Scheduler;
use crate::config::{Config, ProviderKind};
use crate::hub::{ConnId, Hub};
use crate::limits::RateLimiter;
use crate::provider::demo::DemoProvider;
use crate::provider::openai::OpenAiProvider;
use crate::provider::Provider;
use crate::store::{self, Store, StoreError};
use crate::time::now_micros;

pub struct Engine {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub accounts: Accounts,
    pub hub: Arc<Hub>,
    pub provider: Arc<dyn Provider>,
    pub(crate) scheduler: Scheduler,
    pub(crate) message_limiter: RateLimiter,
    /// Register, login, guest and widget-session calls per IP.
    pub auth_limiter: RateLimiter,
    pub metrics: crate::metrics::Metrics,
    /// Typing states that expire unless refreshed: (owner, conversation, conn) → generation.
    pub(crate) typing: Mutex<HashMap<(String, String, ConnId), u64>>,
    draining: AtomicBool,
    /// Tokens of replies generating now, per quota key (see [`crate::chat::quota`]).
    pub(crate) live_usage: crate::chat::quota::LiveUsage,
    /// Normalized origins some enabled bot allows (`*` included), for CORS.
    widget_origins: RwLock<HashSet<String>>,
    /// Presence and operator typing (contract §9).
    pub people: crate::people::People,
    /// With `REDIS_URL`: this node's part of the cluster (issue 13).
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Setup(#[from] crate::error::Error),
}

impl Engine {
    /// Opens storage (applying migrations), recovers from a previous crash and
    /// prepares the runtime.
    pub async fn start(config: Config) -> Result<Arc<Engine>, StartError> {
        crate::tls::install_crypto_provider();
        let store = store::connect(&config.database_url).await?;
        // A single node owns every reply it started; any still unfinished belonged
        // to a process that died (contract §8). With Redis, the lease sweeper
        // (cluster::leases) does this for every node, this one included.
        if config.redis_url.is_none() {
            match store.interrupt_live_replies(now_micros()).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(count = n, "replies from a previous run were marked interrupted"),
                // Read-only or full storage: serve what it holds; writes answer UNAVAILABLE.
                Err(StoreError::Unavailable(detail)) => tracing::error!(
                    %detail,
                    "storage refuses writes: Brook serves what is stored, and refuses new messages until it is \
                     writable again"
                ),
                Err(e) => return Err(e.into()),
            }
        }
        let accounts = Accounts::load(store.as_ref(), config.jwt_secret.as_deref()).await?;
        let provider: Arc<dyn Provider> = match config.provider {
            ProviderKind::Demo => Arc::new(DemoProvider {
                token_delay: config.demo_token_delay,
            }),
            ProviderKind::OpenAi => Arc::new(OpenAiProvider::new(
                &config.openai_base_url,
                config.openai_api_key.as_deref(),
            )),
        };
        let hub = Arc::new(Hub::new(
            config.reply_log_retention,
            config.max_connections_per_identity,
        ));
        let people = crate::people::People::new(&hub, config.presence_grace);
        let cluster = match &config.redis_url {
            None => None,
            Some(url) => Some(
                crate::cluster::Cluster::start(
                    url,
                    &config.redis_prefix,
                    &hub,
                    store.clone(),
                    &config.model,
                    config.reply_log_retention,
                )
                .map_err(|e| crate::error::Error::validation(e.to_string()))?,
            ),
        };
        let engine = Arc::new(Engine {
            hub,
            people,
            scheduler: Scheduler::new(config.max_active_replies),
            message_limiter: RateLimiter::new(config.rate_limit_per_min),
            auth_limiter: RateLimiter::new(config.auth_rate_limit_per_min),
            metrics: crate::metrics::Metrics::new(),
            typing: Mutex::new(HashMap::new()),
            draining: AtomicBool::new(false),
            live_usage: Default::default(),
            widget_origins: RwLock::new(HashSet::new()),
            cluster: cluster.as_ref().map(|(c, _)| c.clone()),
            accounts,
            provider,
            store,
            config,
        });
        engine.refresh_widget_origins().await?;
        if let Some((c, inbound)) = cluster {
            engine.hub.registry.set_cluster(c.clone());
            c.run(Arc::downgrade(&engine), inbound);
        }
        // Histogram samples are drained into buckets at each scrape; this keeps
        // memory bounded when nobody scrapes. Ends with the engine.
        let weak = Arc::downgrade(&engine);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                match weak.upgrade() {
                    Some(e) => e.metrics.upkeep(),
                    None => break,
                }
            }
        });
        Ok(engine)
    }

    /// Refuses new messages and makes `/ready` answer 503 from now on.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Graceful shutdown: refuse new messages, let running replies finish for up
    /// to `BROOK_DRAIN_SECS`, then stop the rest as `interrupted` (their text so far
    /// is stored). The caller closes storage once connections are gone.
    pub async fn drain(self: &Arc<Self>) {
        self.draining.store(true, Ordering::Relaxed);
        let deadline = tokio::time::Instant::now() + self.config.drain;
        while self.scheduler.in_flight() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if self.scheduler.in_flight() > 0 {
            tracing::warn!(
                count = self.scheduler.in_flight(),
                "interrupting replies still running at shutdown"
            );
            for job in self.scheduler.stop_all(None, FinishReason::Interrupted) {
                self.finalize(
                    &job,
                    crate::chat::runner::Outcome::not_started(FinishReason::Interrupted),
                )
                .await;
            }
            let grace = tokio::time::Instant::now() + Duration::from_secs(5);
            while self.scheduler.in_flight() > 0 && tokio::time::Instant::now() < grace {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// `GET /metrics`: the registry, with the gauges read from the state now.
    pub fn render_metrics(&self) -> String {
        let (replies_active, replies_queued) = self.scheduler.replies();
        self.metrics.render(&crate::metrics::Gauges {
            connections: self.hub.registry.connections_by_transport(),
            conversations_in_flight: self.scheduler.in_flight(),
            replies_active,
            replies_queued,
            reply_logs_held: self.hub.held(),
            redis: self.cluster.as_ref().map(|c| (c.healthy(), c.dropped())),
        })
    }

    /// Rebuilds the CORS allow-list after a bot's widget settings change.
    pub async fn refresh_widget_origins(&self) -> Result<(), StoreError> {
        let mut set = HashSet::new();
        for bot in self.store.widget_bots().await? {
            for o in &bot.allowed_origins {
                if o == "*" {
                    set.insert("*".to_string());
                } else if let Some(n) = crate::origin::normalize(o) {
                    set.insert(n);
                }
            }
        }
        if let Ok(mut w) = self.widget_origins.write() {
            *w = set;
        }
        Ok(())
    }

    /// Whether some enabled bot allows `origin` (CORS preflights).
    pub fn widget_origin_allowed(&self, origin: &str) -> bool {
        let Ok(w) = self.widget_origins.read() else {
            return false;
        };
        w.contains("*") || crate::origin::normalize(origin).is_some_and(|n| w.contains(&n))
    }
}
