//! Personal API keys (contract §10): `POST/GET /api/v1/keys`, `DELETE /api/v1/keys/{id}`.

use serde::{Deserialize, Serialize};

/// The prefix of every personal API key.
pub const API_KEY_PREFIX: &str = "brk_";

/// `POST /api/v1/keys` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub name: String,
}

/// `201` answer to `POST /api/v1/keys`: the only time `key` is ever shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedApiKey {
    pub id: String,
    pub name: String,
    /// `brk_` and 43 random alphanumerics (about 256 bits).
    pub key: String,
    /// RFC 3339 UTC.
    pub created_at: String,
}

/// A key as listed: never the key itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC; `null` until first used. Updated at most once a minute.
    pub last_used_at: Option<String>,
}

/// `GET /api/v1/keys`, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyList {
    pub keys: Vec<ApiKey>,
}
