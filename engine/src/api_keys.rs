//! Personal API keys (contract §10): `brk_…` bearer tokens that act as their user.
//!
//! A key is `brk_` plus 43 alphanumerics from the OS-seeded CSPRNG (about 256
//! bits), shown once and stored only as its SHA-256. A fast hash is enough
//! because a key cannot be guessed, unlike a password (OWASP: high-entropy
//! secrets need no slow hash). Every request looks the hash up in storage, so a
//! revocation (deleting the row) takes effect on the next request, on every node.

use std::sync::Arc;

use protocol::keys::{ApiKey, CreatedApiKey, API_KEY_PREFIX};
use protocol::objects::Role;
use sha2::{Digest, Sha256};

use crate::accounts::Accounts;
use crate::auth::{Identity, TokenError};
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::ids;
use crate::store::{ApiKeyRow, Database};
use crate::time::{now_micros, rfc3339};

/// Random characters after the prefix: 43 × log2(62) ≈ 256 bits.
const KEY_RANDOM_CHARS: usize = 43;
/// Longest key name.
const MAX_NAME_CHARS: usize = 80;
/// Keys one user may hold.
pub const MAX_KEYS_PER_USER: usize = 50;
/// `last_used_at` is written at most this often per key (µs), so a busy key
/// does not turn every request into a write.
const TOUCH_EVERY_MICROS: i64 = 60_000_000;
/// The `jti` of an [`Identity`] that came from a key: `key:<id>`. JWT ids are
/// alphanumeric, so the two never collide.
const JTI_PREFIX: &str = "key:";

/// Lower-case hex SHA-256 of the whole key.
pub fn hash_key(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a bearer token is shaped like a personal API key.
pub fn is_api_key(token: &str) -> bool {
    token.starts_with(API_KEY_PREFIX)
}

/// The key id of an identity authenticated by a key.
pub fn key_id_of(who: &Identity) -> Option<&str> {
    who.jti.strip_prefix(JTI_PREFIX)
}

fn to_api_key(row: &ApiKeyRow) -> ApiKey {
    ApiKey {
        id: row.id.clone(),
        name: row.name.clone(),
        created_at: rfc3339(row.created_at),
        last_used_at: row.last_used_at.map(rfc3339),
    }
}

fn users_only(who: &Identity) -> Result<()> {
    if who.role != Role::User {
        return Err(Error::forbidden("only registered accounts can have API keys"));
    }
    Ok(())
}

/// Personal API keys: create, list, revoke, and authenticate a bearer token.
pub struct ApiKeys {
    pub(crate) store: Arc<dyn Database>,
    pub(crate) accounts: Arc<Accounts>,
    pub(crate) hub: Arc<Hub>,
    /// With Redis: the other nodes close the key's streams too.
    pub(crate) cluster: Option<Arc<crate::cluster::Cluster>>,
}

impl ApiKeys {
    /// `POST /api/v1/keys`: a new key for a `user` (`403` for guests and
    /// visitors, `422` for a blank or long name or too many keys).
    #[tracing::instrument(skip_all, fields(user_id = %who.user_id))]
    pub async fn create(&self, who: &Identity, name: &str) -> Result<CreatedApiKey> {
        users_only(who)?;
        let name = name.trim();
        let n = name.chars().count();
        if n == 0 || n > MAX_NAME_CHARS {
            return Err(Error::validation(format!(
                "name: must be 1 to {MAX_NAME_CHARS} characters"
            )));
        }
        if self.store.api_keys_of(&who.user_id).await?.len() >= MAX_KEYS_PER_USER {
            return Err(Error::validation(format!(
                "at most {MAX_KEYS_PER_USER} API keys per account; revoke one first"
            )));
        }
        let key = format!("{API_KEY_PREFIX}{}", ids::secret(KEY_RANDOM_CHARS));
        let row = ApiKeyRow {
            id: ids::new_id(),
            user_id: who.user_id.clone(),
            name: name.to_string(),
            key_hash: hash_key(&key),
            created_at: now_micros(),
            last_used_at: None,
        };
        self.store.insert_api_key(&row).await?;
        tracing::info!(key_id = %row.id, "API key created");
        Ok(CreatedApiKey {
            id: row.id,
            name: row.name,
            key,
            created_at: rfc3339(row.created_at),
        })
    }

    /// `GET /api/v1/keys`: the caller's keys, newest first (empty for guests and visitors).
    pub async fn list(&self, who: &Identity) -> Result<Vec<ApiKey>> {
        if who.role != Role::User {
            return Ok(Vec::new());
        }
        Ok(self
            .store
            .api_keys_of(&who.user_id)
            .await?
            .iter()
            .map(to_api_key)
            .collect())
    }

    /// `DELETE /api/v1/keys/{id}`: revokes at once; another user's or an unknown
    /// key is `NOT_FOUND`.
    #[tracing::instrument(skip_all, fields(user_id = %who.user_id, key_id = %id))]
    pub async fn revoke(&self, who: &Identity, id: &str) -> Result<()> {
        if who.role != Role::User || !self.store.delete_api_key(&who.user_id, id).await? {
            return Err(Error::not_found("API key"));
        }
        // Streams opened with the key close at once, as on logout (§4.8).
        let jti = format!("{JTI_PREFIX}{id}");
        let closed = self.hub.registry.cut_token(&jti);
        if let Some(c) = &self.cluster {
            c.publish_revoked(&jti);
        }
        tracing::info!(closed, "API key revoked");
        Ok(())
    }

    /// Verifies any bearer credential: a `brk_` key (looked up in storage) or a
    /// JWT (contract §2). A key acts as its user, with role `user`.
    pub async fn authenticate(&self, token: &str) -> std::result::Result<Identity, TokenError> {
        if !is_api_key(token) {
            return self.accounts.authenticate(token);
        }
        let row = match self.store.api_key_by_hash(&hash_key(token)).await {
            Ok(Some(row)) => row,
            Ok(None) => return Err(TokenError::Invalid),
            Err(e) => {
                tracing::warn!(error = %e, "API key lookup failed");
                return Err(TokenError::Invalid);
            }
        };
        let now = now_micros();
        if row.last_used_at.is_none_or(|t| t < now - TOUCH_EVERY_MICROS) {
            if let Err(e) = self.store.touch_api_key(&row.id, now, now - TOUCH_EVERY_MICROS).await {
                tracing::warn!(key_id = %row.id, error = %e, "could not record the API key's use");
            }
        }
        Ok(Identity {
            user_id: row.user_id,
            role: Role::User,
            bot_id: None,
            jti: format!("{JTI_PREFIX}{}", row.id),
            // Keys do not expire; this is only what a logout would record.
            exp: now / 1_000_000 + 24 * 3600,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_hex() {
        // SHA-256("abc") from FIPS 180-2, appendix B.1.
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn key_identity_round_trip() {
        let who = Identity {
            user_id: "u".into(),
            role: Role::User,
            bot_id: None,
            jti: format!("{JTI_PREFIX}abc"),
            exp: 0,
        };
        assert_eq!(key_id_of(&who), Some("abc"));
        assert!(is_api_key("brk_x") && !is_api_key("eyJhbGciOi"));
    }
}
