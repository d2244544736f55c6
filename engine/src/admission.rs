//! Who may still use Brook, checked the same way by every transport (issue 11
//! §4.5, §4.8).
//!
//! A caller is admitted when its token verifies, is not revoked, and — for a
//! widget visitor — its bot still exists with the widget enabled. Long-lived
//! streams (WebSocket, the SSE streams, long polls) register through
//! [`Admission::subscribe`]; revoking a token ([`Admission::logout`]) or cutting
//! off a bot's visitors ([`crate::bots::Bots::cut_off_visitors`]) cancels their
//! [`Subscription::cut`], and each transport closes at once.
//!
//! A message is admitted when the server is not draining, its sender still may
//! act, and neither the rate limit (`BROOK_RATE_LIMIT_PER_MIN`, per identity
//! and for guests and visitors per IP, across the cluster) nor the daily quota
//! refuses it ([`Admission::admit`]).

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use protocol::objects::Role;
use protocol::ErrorCode;

use crate::accounts::Accounts;
use crate::api_keys::ApiKeys;
use crate::auth::Identity;
use crate::chat::quota::Quotas;
use crate::cluster::connections::Verdict;
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::hub::{Hub, Subscription, TooManyConnections, Transport};
use crate::limits::RateLimiter;
use crate::metrics::Metrics;
use crate::store::Database;
use crate::time::{micros_until_midnight, now_micros};

/// Who may use Brook now, and whether a message may be accepted.
pub struct Admission {
    pub(crate) accounts: Arc<Accounts>,
    pub(crate) api_keys: Arc<ApiKeys>,
    pub(crate) store: Arc<dyn Database>,
    pub(crate) hub: Arc<Hub>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) quotas: Arc<Quotas>,
    pub(crate) cluster: Option<Arc<Cluster>>,
    /// Messages (and completions) per minute, per identity and per IP.
    pub(crate) message_limiter: RateLimiter,
    /// Register, login, guest and widget-session calls per IP.
    pub auth_limiter: RateLimiter,
    pub(crate) draining: AtomicBool,
}

impl Admission {
    /// Refuses new messages and makes `/ready` answer 503 from now on.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Whether the server is shutting down.
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Whether `user_id` may open one more long-lived stream
    /// (`BROOK_MAX_CONNECTIONS_PER_IDENTITY`): on this node and, with Redis,
    /// across every node (a look: [`Self::subscribe`] decides).
    pub async fn has_room(&self, user_id: &str) -> bool {
        if !self.hub.registry.has_room(user_id) {
            return false;
        }
        match &self.cluster {
            Some(c) => c.connection_room(user_id).await,
            None => true,
        }
    }

    /// Rate limit and daily quota; both come before anything is stored.
    ///
    /// Errors: `UNAVAILABLE` while draining; `AUTH_REQUIRED` / `NOT_FOUND` as
    /// [`Self::admitted`]; `RATE_LIMITED` and `QUOTA_EXCEEDED` with `retry_after_ms`.
    pub(crate) async fn admit(&self, who: &Identity, ip: Option<IpAddr>) -> Result<()> {
        if self.draining() {
            return Err(Error::unavailable("the server is shutting down; try again in a moment"));
        }
        // A visitor whose bot was removed a moment ago, on a connection not yet closed.
        self.admitted(who).await?;
        self.rate_check(who, ip).await?;
        // Per identity and, for guests and visitors, per IP (issue 11 §4.6).
        if self.quotas.spent(who, ip).await? {
            let now = now_micros();
            return Err(Error::new(ErrorCode::QuotaExceeded, "today's token quota is used up")
                .with_retry_after_ms((micros_until_midnight(now) / 1000) as u64));
        }
        Ok(())
    }

    /// One call of the per-address budget for sign-ins
    /// (`BROOK_AUTH_RATE_LIMIT_PER_MIN`: register, login, guest, widget
    /// session), here and, with Redis, across every node (issue 13: limits
    /// hold cluster-wide; behind a round-robin balancer each node alone would
    /// grant the whole budget again). `Err(wait)` when it is spent.
    pub async fn auth_budget(&self, ip: IpAddr) -> std::result::Result<(), Duration> {
        let local = ip.to_string();
        self.auth_limiter.check(&local)?;
        if let Some(c) = &self.cluster {
            if let Err(wait) = c
                .rate_check(&format!("ip:auth:{ip}"), self.auth_limiter.per_min())
                .await
            {
                self.auth_limiter.refund(&local);
                return Err(wait);
            }
        }
        Ok(())
    }

    /// The message rate, here and (with Redis) across every node (issue 13).
    async fn rate_check(&self, who: &Identity, ip: Option<IpAddr>) -> Result<()> {
        let limited = |wait: Duration| {
            Error::new(ErrorCode::RateLimited, "too many messages; slow down")
                .with_retry_after_ms(wait.as_millis().max(1) as u64)
        };
        let ip = ip.filter(|_| who.role != Role::User);
        self.message_limiter.check(&who.user_id).map_err(limited)?;
        if let Some(ip) = ip {
            self.message_limiter.check(&format!("ip:{ip}")).map_err(limited)?;
        }
        let Some(c) = &self.cluster else {
            return Ok(());
        };
        let per_min = self.message_limiter.per_min();
        if let Err(wait) = c.rate_check(&who.user_id, per_min).await {
            self.message_limiter.refund(&who.user_id);
            return Err(limited(wait));
        }
        if let Some(ip) = ip {
            if let Err(wait) = c.rate_check(&format!("ip:{ip}"), per_min).await {
                c.rate_refund(&who.user_id);
                self.message_limiter.refund(&who.user_id);
                self.message_limiter.refund(&format!("ip:{ip}"));
                return Err(limited(wait));
            }
        }
        Ok(())
    }

    /// Gives back what [`Self::admit`] took from the rate limits, here and
    /// across the cluster: the request was refused after all (a full queue)
    /// and stored nothing.
    pub(crate) fn refund(&self, who: &Identity, ip: Option<IpAddr>) {
        let ip = ip.filter(|_| who.role != Role::User);
        self.message_limiter.refund(&who.user_id);
        if let Some(ip) = ip {
            self.message_limiter.refund(&format!("ip:{ip}"));
        }
        if let Some(c) = &self.cluster {
            c.rate_refund(&who.user_id);
            if let Some(ip) = ip {
                c.rate_refund(&format!("ip:{ip}"));
            }
        }
    }

    /// A send or completion refused before ack: `brook_refusals_total`, and
    /// `brook_limit_refusals_total` when a limit refused it.
    pub(crate) fn count_refusal(&self, e: &Error) {
        self.metrics
            .record(|| ::metrics::counter!("brook_refusals_total").increment(1));
        match e.code {
            ErrorCode::RateLimited => self.count_limit_refusal("messages"),
            ErrorCode::QuotaExceeded => self.count_limit_refusal("quota"),
            _ => {}
        }
    }

    /// The identity of `token`, if it may use Brook now.
    ///
    /// Errors: an invalid, expired or revoked token → `AUTH_REQUIRED` (the message
    /// says which); a visitor whose bot was deleted or whose widget is disabled →
    /// `NOT_FOUND` (contract §2: nothing tells a probe the bot existed).
    pub async fn identify(&self, token: &str) -> Result<Identity> {
        // A JWT or a personal API key (contract §10).
        let who = self
            .api_keys
            .authenticate(token)
            .await
            .map_err(|e| Error::new(ErrorCode::AuthRequired, e.to_string()))?;
        self.admitted(&who).await?;
        Ok(who)
    }

    /// Whether an already verified identity may still act: `AUTH_REQUIRED` once
    /// its token is revoked, `NOT_FOUND` for a visitor of a deleted bot or of a
    /// bot whose widget is disabled.
    pub async fn admitted(&self, who: &Identity) -> Result<()> {
        if self.accounts.is_revoked(&who.jti) {
            return Err(Error::new(
                ErrorCode::AuthRequired,
                crate::auth::TokenError::Revoked.to_string(),
            ));
        }
        if who.role != Role::Visitor {
            return Ok(());
        }
        let bot = match who.bot_id.as_deref() {
            Some(id) => self.store.bot(id).await?,
            None => None,
        };
        match bot {
            Some(b) if b.widget_enabled => Ok(()),
            _ => Err(Error::not_found("bot")),
        }
    }

    /// Registers a long-lived stream of `who` (WebSocket, SSE, long poll).
    ///
    /// Errors: `RATE_LIMITED` over `BROOK_MAX_CONNECTIONS_PER_IDENTITY`, on
    /// this node or (with Redis) across every node
    /// ([`Cluster::admit_connection`]). A revocation that raced with the
    /// caller's check cuts the new subscription before it is returned, so no
    /// stream outlives its token.
    pub async fn subscribe(&self, who: &Identity, transport: Transport) -> Result<Subscription> {
        let too_many = |e: &dyn std::fmt::Display| {
            self.count_limit_refusal("connections");
            Error::new(ErrorCode::RateLimited, e.to_string())
        };
        let sub = self.hub.registry.register(who, transport).map_err(|e| too_many(&e))?;
        if let Some(c) = &self.cluster {
            if let Verdict::Refused { count } = c.admit_connection(&who.user_id, sub.id).await {
                tracing::info!(user_id = %who.user_id, count, "connection refused: too many across the nodes");
                // Dropping `sub` unregisters it here.
                return Err(too_many(&TooManyConnections));
            }
        }
        if self.admitted(who).await.is_err() {
            sub.cut.cancel();
        }
        Ok(sub)
    }

    /// Counts a request refused by a limit (`brook_limit_refusals_total{limit}`:
    /// `messages`, `quota`, `auth` or `connections`).
    pub fn count_limit_refusal(&self, limit: &'static str) {
        self.metrics
            .record(|| ::metrics::counter!("brook_limit_refusals_total", "limit" => limit).increment(1));
    }

    /// Counts a stream closed because its client stopped reading.
    pub fn count_slow_consumer(&self, transport: Transport) {
        self.metrics.record(|| {
            ::metrics::counter!("brook_slow_consumer_closes_total", "transport" => transport.as_str()).increment(1)
        });
    }

    /// Counts a reply resumed from a sequence number.
    pub fn count_resume(&self, transport: Transport) {
        self.metrics
            .record(|| ::metrics::counter!("brook_resumes_total", "transport" => transport.as_str()).increment(1));
    }

    /// Why a subscription of `who` was cut, as the error its transport reports.
    pub async fn cut_reason(&self, who: &Identity) -> Error {
        match self.admitted(who).await {
            Err(e) => e,
            Ok(()) => Error::auth_required(),
        }
    }

    /// `POST /api/v1/auth/logout`: revokes the token for good (stored, so a
    /// restart does not revive it) and closes every stream opened with it.
    pub async fn logout(&self, who: &Identity) -> Result<()> {
        self.accounts.logout(who).await?;
        let closed = self.hub.registry.cut_token(&who.jti);
        tracing::info!(user_id = %who.user_id, closed, "token revoked; its connections closed");
        if let Some(c) = &self.cluster {
            c.publish_revoked(&who.jti);
        }
        Ok(())
    }
}
