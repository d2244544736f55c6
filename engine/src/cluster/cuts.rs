//! Streams closed on every node, not only on the node that took the request
//! (contract §2 logout and §4.8 key revocation; §9 a bot deleted or its widget
//! disabled): the node that acts publishes on the control channel
//! (`{prefix}stop`, which every node follows), and each other node closes its
//! own connections, as the acting node did in process.
//!
//! A revoked token is also added to each node's revocation set, so the token
//! is refused there at once rather than from the node's next start. Like every
//! bus message this is at most once: a revocation published while Redis is
//! unreachable reaches the other nodes only through their periodic reload of
//! the stored revocations ([`crate::accounts::Accounts::reload_revoked`],
//! every [`RELOAD_REVOKED_EVERY`]).

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::bus::{Body, Bus, Topic};
use super::Cluster;
use crate::accounts::Accounts;

/// How often a clustered node reloads the stored revocations (the bound on how
/// long a token revoked elsewhere during a Redis outage keeps working here).
pub const RELOAD_REVOKED_EVERY: Duration = Duration::from_secs(30);

impl Cluster {
    /// Lets the control channel reach this node's accounts (their revocations).
    pub fn set_accounts(&self, accounts: &Arc<Accounts>) {
        let _ = self.accounts.set(Arc::downgrade(accounts));
        tokio::spawn(reload_loop(Arc::downgrade(accounts)));
    }

    /// A token (`jti`, or an API key's `key:<id>`) was revoked here: the other
    /// nodes refuse it too and close its streams.
    pub fn publish_revoked(&self, jti: &str) {
        self.bus.publish(&Topic::Stop, Body::Revoked { jti: jti.to_string() });
    }

    /// A bot was deleted or its widget disabled here: the other nodes close its
    /// visitors' streams too.
    pub fn publish_bot_closed(&self, bot: &str) {
        self.bus.publish(&Topic::Stop, Body::BotClosed { bot: bot.to_string() });
    }

    /// Another node revoked `jti`.
    pub(super) fn revoked_elsewhere(&self, jti: &str) {
        if let Some(accounts) = self.accounts.get().and_then(Weak::upgrade) {
            accounts.note_revoked(jti);
        }
    }
}

/// Reloads the stored revocations every [`RELOAD_REVOKED_EVERY`] while the
/// accounts live.
async fn reload_loop(accounts: Weak<Accounts>) {
    loop {
        tokio::time::sleep(RELOAD_REVOKED_EVERY).await;
        let Some(a) = accounts.upgrade() else { return };
        if let Err(e) = a.reload_revoked().await {
            tracing::warn!(error = %e, "reloading the stored revocations failed");
        }
    }
}
