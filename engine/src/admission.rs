//! Who may still use Brook, checked the same way by every transport (issue 11
//! §4.5, §4.8).
//!
//! A caller is admitted when its token verifies, is not revoked, and — for a
//! widget visitor — its bot still exists with the widget enabled. Long-lived
//! streams (WebSocket, the SSE streams, long polls) register through
//! [`Engine::subscribe`]; revoking a token ([`Engine::logout`]) or cutting off a
//! bot's visitors ([`Engine::cut_off_visitors`]) cancels their
//! [`Subscription::cut`], and each transport closes at once.

use protocol::objects::Role;
use protocol::ErrorCode;

use crate::auth::Identity;
use crate::error::{Error, Result};
use crate::hub::{Subscription, Transport};
use crate::Engine;

impl Engine {
    /// The identity of `token`, if it may use Brook now.
    ///
    /// Errors: an invalid, expired or revoked token → `AUTH_REQUIRED` (the message
    /// says which); a visitor whose bot was deleted or whose widget is disabled →
    /// `NOT_FOUND` (contract §2: nothing tells a probe the bot existed).
    pub async fn identify(&self, token: &str) -> Result<Identity> {
        // A JWT or a personal API key (contract §10).
        let who = self
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
    /// Errors: `RATE_LIMITED` over `BROOK_MAX_CONNECTIONS_PER_IDENTITY`. A
    /// revocation that raced with the caller's check cuts the new subscription
    /// before it is returned, so no stream outlives its token.
    pub async fn subscribe(&self, who: &Identity, transport: Transport) -> Result<Subscription> {
        let sub = self.hub.registry.register(who, transport).map_err(|e| {
            self.count_limit_refusal("connections");
            Error::new(ErrorCode::RateLimited, e.to_string())
        })?;
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
        self.accounts.logout(self.store.as_ref(), who).await?;
        let closed = self.hub.registry.cut_token(&who.jti);
        tracing::info!(user_id = %who.user_id, closed, "token revoked; its connections closed");
        Ok(())
    }

    /// Closes the open streams of every visitor of `bot_id`, after the bot was
    /// deleted or its widget disabled. Their later calls get `NOT_FOUND` from
    /// [`Engine::admitted`].
    pub fn cut_off_visitors(&self, bot_id: &str) {
        let closed = self.hub.registry.cut_bot_visitors(bot_id);
        tracing::info!(bot_id, closed, "bot's visitors cut off");
    }
}
