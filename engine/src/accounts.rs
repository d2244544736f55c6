//! Accounts: register, log in, guests, widget visitors, tokens and the default bot.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use protocol::objects::{Me, Role, User};
use protocol::rest::{AuthResponse, WidgetBot, WidgetSessionResponse};
use protocol::ErrorCode;

use crate::auth::password::{HashError, Hasher};
use crate::auth::{Claims, Identity, Keys, TokenError};
use crate::error::{Error, Result};
use crate::ids;
use crate::limits::LoginThrottle;
use crate::store::{BotRow, Database, UserRow};
use crate::time::now_micros;

/// A visitor may come back with a token up to this old (contract §4).
const VISITOR_RETURN_SECS: i64 = 90 * 24 * 3600;
const MAX_PASSWORD_BYTES: usize = 1024;
const MAX_NAME_CHARS: usize = 100;
/// Shorter HS256 secrets are warned about at start-up: RFC 7518 §3.2 asks for a
/// key at least as long as the hash output (256 bits).
pub const MIN_SECRET_BYTES: usize = 32;

/// Accounts and their tokens, over the storage they live in.
pub struct Accounts {
    store: Arc<dyn Database>,
    /// The model of a new account's default bot (`BROOK_MODEL`).
    default_model: String,
    keys: Keys,
    /// argon2id, bounded: at most one hash per core at once (issue 18).
    hasher: Hasher,
    /// Failed logins per account, with growing delays.
    login_throttle: LoginThrottle,
    /// Logged-out token ids that have not expired, mirrored from storage so a
    /// check costs no query.
    revoked: RwLock<HashSet<String>>,
}

/// A hasher that is busy is `429 RATE_LIMITED` with `Retry-After`.
fn hash_error(e: HashError) -> Error {
    match e {
        HashError::Busy { retry_after } => {
            Error::new(ErrorCode::RateLimited, e.to_string()).with_retry_after_ms(retry_after.as_millis().max(1) as u64)
        }
        HashError::Internal(detail) => {
            tracing::error!(error = %detail, "password hashing failed");
            Error::internal()
        }
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn truncated(s: &str, max: usize) -> String {
    let mut cut = s.len().min(max);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s[..cut].to_string()
}

fn now_secs() -> i64 {
    now_micros() / 1_000_000
}

/// A light email check: something@domain.tld, no spaces, at most 254 characters.
pub fn valid_email(email: &str) -> bool {
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

impl Accounts {
    /// Loads (or creates, on first start) the signing secret and the revocation list.
    ///
    /// `default_model` is the model a new account's default bot gets (`BROOK_MODEL`).
    pub async fn load(
        store: Arc<dyn Database>,
        configured_secret: Option<&str>,
        default_model: &str,
    ) -> Result<Accounts> {
        let secret = match configured_secret {
            Some(s) => {
                if s.len() < MIN_SECRET_BYTES {
                    tracing::warn!(
                        bytes = s.len(),
                        "BROOK_JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes: tokens signed with it can be \
                         brute-forced; use a random secret of at least {MIN_SECRET_BYTES} bytes (or unset it to let \
                         Brook generate one)"
                    );
                }
                s.to_string()
            }
            None => {
                let fresh = ids::secret(48);
                store.setting_get_or_insert("jwt_secret", &fresh).await?
            }
        };
        let revoked = store.revoked_tokens(now_secs()).await?.into_iter().collect();
        Ok(Accounts {
            store,
            default_model: default_model.to_string(),
            keys: Keys::new(secret.as_bytes()),
            hasher: Hasher::new(),
            login_throttle: LoginThrottle::new(),
            revoked: RwLock::new(revoked),
        })
    }

    /// argon2 computations so far (each login costs exactly one, see [`Accounts::login`]).
    pub fn hashes_computed(&self) -> usize {
        self.hasher.computed()
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Whether the token with this id was revoked (logged out).
    pub fn is_revoked(&self, jti: &str) -> bool {
        self.revoked.read().unwrap_or_else(|p| p.into_inner()).contains(jti)
    }

    /// Verifies a token and its revocation.
    pub fn authenticate(&self, token: &str) -> std::result::Result<Identity, TokenError> {
        let claims = self.keys.verify(token)?;
        if self.is_revoked(&claims.jti) {
            return Err(TokenError::Revoked);
        }
        Ok(Identity::from_claims(&claims))
    }

    fn token_for(&self, user: &UserRow) -> (String, Claims) {
        let claims = self.keys.issue(&user.id, user.role, user.bot_id.as_deref(), now_secs());
        (self.keys.encode(&claims), claims)
    }

    pub async fn register(&self, email: &str, password_plain: &str, name: Option<&str>) -> Result<AuthResponse> {
        let email = email.trim().to_lowercase();
        if !valid_email(&email) {
            return Err(Error::validation("email: not a valid email address"));
        }
        if password_plain.chars().count() < 8 {
            return Err(Error::validation("password: must be at least 8 characters"));
        }
        if password_plain.len() > MAX_PASSWORD_BYTES {
            return Err(Error::validation("password: must be at most 1024 bytes"));
        }
        let name = clean_name(name)?;
        if self.store.user_by_email(&email).await?.is_some() {
            return Err(Error::new(ErrorCode::Conflict, "email: already registered"));
        }
        let hash = self.hasher.hash(password_plain.to_string()).await.map_err(hash_error)?;
        let user = UserRow {
            id: ids::new_id(),
            email: Some(email),
            name,
            role: Role::User,
            password_hash: Some(hash),
            bot_id: None,
            created_at: now_micros(),
        };
        match self.store.insert_user(&user).await {
            Ok(()) => {}
            Err(crate::store::StoreError::Conflict(_)) => {
                return Err(Error::new(ErrorCode::Conflict, "email: already registered"))
            }
            Err(e) => return Err(e.into()),
        }
        ensure_default_bot(self.store.as_ref(), &user.id, &self.default_model).await?;
        let (token, _) = self.token_for(&user);
        Ok(AuthResponse {
            token,
            user: user.to_user(),
        })
    }

    /// Logs in. Every attempt costs exactly one argon2id check under the
    /// hasher's bound, whether the email is known, has no password or the
    /// password is over-long, so the answer's timing does not tell which emails
    /// exist; failures delay the account's next attempts ([`LoginThrottle`]).
    pub async fn login(&self, email: &str, password_plain: &str) -> Result<AuthResponse> {
        let email = email.trim().to_lowercase();
        let bad = || Error::new(ErrorCode::InvalidCredentials, "wrong email or password");
        if let Err(wait) = self.login_throttle.check(&email) {
            return Err(Error::new(
                ErrorCode::RateLimited,
                "too many failed logins for this account; try again shortly",
            )
            .with_retry_after_ms(wait.as_millis().max(1) as u64));
        }
        let user = self.store.user_by_email(&email).await?;
        let too_long = password_plain.len() > MAX_PASSWORD_BYTES;
        let stored = user
            .as_ref()
            .and_then(|u| u.password_hash.clone())
            .filter(|_| !too_long);
        let candidate = truncated(password_plain, MAX_PASSWORD_BYTES);
        let matched = self.hasher.verify(candidate, stored).await.map_err(hash_error)?;
        let user = match user {
            Some(u) if matched => u,
            _ => {
                self.login_throttle.failed(&email);
                return Err(bad());
            }
        };
        self.login_throttle.succeeded(&email);
        let (token, _) = self.token_for(&user);
        Ok(AuthResponse {
            token,
            user: user.to_user(),
        })
    }

    pub async fn guest(&self) -> Result<AuthResponse> {
        let user = UserRow {
            id: ids::new_id(),
            email: None,
            name: Some("Guest".into()),
            role: Role::Guest,
            password_hash: None,
            bot_id: None,
            created_at: now_micros(),
        };
        self.store.insert_user(&user).await?;
        ensure_default_bot(self.store.as_ref(), &user.id, &self.default_model).await?;
        let (token, _) = self.token_for(&user);
        Ok(AuthResponse {
            token,
            user: user.to_user(),
        })
    }

    /// `POST /api/v1/widget/session`: a new visitor, or the same visitor again when
    /// it presents its previous token (expired is fine, up to 90 days old).
    pub async fn visitor_session(&self, bot: &BotRow, previous_token: Option<&str>) -> Result<WidgetSessionResponse> {
        let returning = match previous_token.map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => match self.keys.verify_ignoring_expiry(t) {
                // A revoked (logged-out) token never revives its visitor.
                Ok(c)
                    if c.role == Role::Visitor
                        && !self.is_revoked(&c.jti)
                        && c.bot.as_deref() == Some(bot.id.as_str())
                        && now_secs() - c.iat <= VISITOR_RETURN_SECS =>
                {
                    self.store.user_by_id(&c.sub).await?
                }
                _ => None,
            },
        };
        let user = match returning {
            Some(u) => u,
            None => {
                let u = UserRow {
                    id: ids::new_id(),
                    email: None,
                    name: Some("Visitor".into()),
                    role: Role::Visitor,
                    password_hash: None,
                    bot_id: Some(bot.id.clone()),
                    created_at: now_micros(),
                };
                self.store.insert_user(&u).await?;
                u
            }
        };
        let (token, _) = self.token_for(&user);
        let theme = bot.theme.clone();
        Ok(WidgetSessionResponse {
            token,
            visitor_id: user.id,
            bot: WidgetBot {
                name: bot.name.clone(),
                greeting: bot.greeting.clone(),
                theme,
            },
        })
    }

    pub async fn me(&self, who: &Identity) -> Result<Me> {
        let user = self
            .store
            .user_by_id(&who.user_id)
            .await?
            .ok_or_else(Error::auth_required)?;
        Ok(Me {
            id: user.id.clone(),
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role,
        })
    }

    pub async fn user(&self, who: &Identity) -> Result<User> {
        Ok(self
            .store
            .user_by_id(&who.user_id)
            .await?
            .ok_or_else(Error::auth_required)?
            .to_user())
    }

    /// A fresh token for a valid one.
    pub async fn refresh(&self, who: &Identity) -> Result<AuthResponse> {
        let user = self
            .store
            .user_by_id(&who.user_id)
            .await?
            .ok_or_else(Error::auth_required)?;
        let (token, _) = self.token_for(&user);
        Ok(AuthResponse {
            token,
            user: user.to_user(),
        })
    }

    /// Revokes the token: it stops working at once, on every transport (the
    /// open streams are closed by [`crate::admission::Admission::logout`]). Called with a
    /// personal API key, revokes that key instead.
    pub async fn logout(&self, who: &Identity) -> Result<()> {
        if let Some(key_id) = crate::api_keys::key_id_of(who) {
            self.store.delete_api_key(&who.user_id, key_id).await?;
            return Ok(());
        }
        self.store.revoke_token(&who.jti, who.exp).await?;
        self.note_revoked(&who.jti);
        Ok(())
    }

    /// Refuses the token `jti` from now on in this process (revoked here, or
    /// on another node: [`crate::cluster::cuts`]).
    pub fn note_revoked(&self, jti: &str) {
        if let Ok(mut r) = self.revoked.write() {
            r.insert(jti.to_string());
        }
    }

    /// Adds the stored, unexpired revocations to the revocation set (several
    /// nodes: what another node revoked while the bus was down).
    /// Errors: storage errors; the set is then kept as it was.
    pub async fn reload_revoked(&self) -> Result<()> {
        let stored: std::collections::HashSet<String> =
            self.store.revoked_tokens(now_secs()).await?.into_iter().collect();
        if let Ok(mut r) = self.revoked.write() {
            r.extend(stored);
        }
        Ok(())
    }

    /// Creates an account from the CLI (`brook user create`).
    pub async fn create_user(&self, email: &str, password_plain: &str, name: Option<&str>) -> Result<User> {
        Ok(self.register(email, password_plain, name).await?.user)
    }

    /// A token for an existing account (`brook token`).
    pub async fn token_for_email(&self, email: &str) -> Result<String> {
        let user = self
            .store
            .user_by_email(&email.trim().to_lowercase())
            .await?
            .ok_or_else(|| Error::not_found("account"))?;
        Ok(self.token_for(&user).0)
    }
}

fn clean_name(name: Option<&str>) -> Result<Option<String>> {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(n) if n.chars().count() > MAX_NAME_CHARS => Err(Error::validation("name: must be at most 100 characters")),
        Some(n) => Ok(Some(n.to_string())),
    }
}

/// The identity's default `Assistant` bot, created on first need.
pub async fn ensure_default_bot(store: &dyn Database, owner_id: &str, model: &str) -> Result<BotRow> {
    if let Some(b) = store.default_bot(owner_id).await? {
        return Ok(b);
    }
    let now = now_micros();
    let bot = BotRow {
        id: ids::new_id(),
        owner_id: owner_id.to_string(),
        name: "Assistant".into(),
        system_prompt: "You are a helpful assistant.".into(),
        model: model.to_string(),
        temperature: None,
        greeting: "Hi! How can I help you today?".into(),
        widget_enabled: false,
        public_key: ids::public_key(),
        allowed_origins: Vec::new(),
        theme: protocol::objects::Theme::default(),
        is_default: true,
        created_at: now,
        updated_at: now,
    };
    match store.insert_bot(&bot).await {
        Ok(()) => Ok(bot),
        // Created concurrently by another request: use that one.
        Err(crate::store::StoreError::Conflict(_)) => store.default_bot(owner_id).await?.ok_or_else(Error::internal),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(valid_email("a@b.co"));
        assert!(valid_email("first.last+tag@example.org"));
        assert!(!valid_email("nope"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("a b@c.de"));
        assert!(!valid_email("@c.de"));
        assert!(!valid_email("a@.de"));
    }
}
