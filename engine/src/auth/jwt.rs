//! HS256 tokens. The algorithm is pinned on verification, so `alg: none` or any
//! other algorithm in a token's header is refused, and `exp` is required.

use std::time::Duration;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use protocol::objects::Role;
use serde::{Deserialize, Serialize};

use super::TokenError;

/// Tokens expire after 30 days (contract §2).
pub const TOKEN_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<String>,
}

pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl Keys {
    pub fn new(secret: &[u8]) -> Keys {
        super::hs256::install();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.validate_exp = true;
        // A token whose `nbf` is still ahead is not valid yet (RFC 7519 §4.1.5).
        validation.validate_nbf = true;
        validation.leeway = 5;
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Signs a token for `sub` valid for [`TOKEN_TTL`] from `now` (seconds).
    pub fn issue(&self, sub: &str, role: Role, bot: Option<&str>, now: i64) -> Claims {
        Claims {
            sub: sub.to_string(),
            role,
            exp: now + TOKEN_TTL.as_secs() as i64,
            iat: now,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            bot: bot.map(str::to_string),
        }
    }

    pub fn encode(&self, claims: &Claims) -> String {
        // HS256 signing of a serializable struct cannot fail.
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding).unwrap_or_default()
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        decode::<Claims>(token.trim(), &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }

    /// Verifies the signature but not the expiry: a returning widget visitor may
    /// present an expired token (contract §4); the caller bounds its age.
    pub fn verify_ignoring_expiry(&self, token: &str) -> Result<Claims, TokenError> {
        let mut v = self.validation.clone();
        v.validate_exp = false;
        decode::<Claims>(token.trim(), &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|_| TokenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn round_trip() {
        let k = Keys::new(b"secret-secret-secret-secret-1234");
        let c = k.issue("u1", Role::User, None, chrono::Utc::now().timestamp());
        let t = k.encode(&c);
        assert_eq!(k.verify(&t).unwrap(), c);
    }

    #[test]
    fn rejects_alg_none_wrong_key_expired_and_tampered() {
        let k = Keys::new(b"secret-secret-secret-secret-1234");
        let now = chrono::Utc::now().timestamp();
        let c = k.issue("u1", Role::User, None, now);
        let good = k.encode(&c);

        // alg: none with no signature
        let payload = b64(&serde_json::to_string(&c).unwrap());
        let none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), payload);
        assert_eq!(k.verify(&none), Err(TokenError::Invalid));

        // signed with another key
        let other = Keys::new(b"another-secret-another-secret-12");
        assert_eq!(k.verify(&other.encode(&c)), Err(TokenError::Invalid));

        // expired
        let mut old = c.clone();
        old.exp = now - 3600;
        assert_eq!(k.verify(&k.encode(&old)), Err(TokenError::Expired));
        assert!(k.verify_ignoring_expiry(&k.encode(&old)).is_ok());

        // tampered payload, original signature
        let mut parts: Vec<&str> = good.split('.').collect();
        let mut evil = c.clone();
        evil.sub = "admin".into();
        let evil_payload = b64(&serde_json::to_string(&evil).unwrap());
        parts[1] = &evil_payload;
        assert_eq!(k.verify(&parts.join(".")), Err(TokenError::Invalid));

        // HS512 with the right secret is still refused: the algorithm is pinned
        // (signed by hand: Brook's provider does not sign HS512 at all)
        let signing_input = format!("{}.{}", b64(r#"{"alg":"HS512","typ":"JWT"}"#), payload);
        let mut mac =
            <hmac::Hmac<sha2::Sha512> as hmac::Mac>::new_from_slice(b"secret-secret-secret-secret-1234").unwrap();
        hmac::Mac::update(&mut mac, signing_input.as_bytes());
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hmac::Mac::finalize(mac).into_bytes());
        let hs512 = format!("{signing_input}.{sig}");
        assert_eq!(k.verify(&hs512), Err(TokenError::Invalid));

        // missing exp
        let no_exp = serde_json::json!({"sub": "u1", "role": "user", "iat": now, "jti": "x"});
        let t = encode(
            &Header::new(Algorithm::HS256),
            &no_exp,
            &EncodingKey::from_secret(b"secret-secret-secret-secret-1234"),
        )
        .unwrap();
        assert_eq!(k.verify(&t), Err(TokenError::Invalid));

        // not valid before an hour from now
        let mut future = serde_json::to_value(&c).unwrap();
        future["nbf"] = serde_json::json!(now + 3600);
        let t = encode(
            &Header::new(Algorithm::HS256),
            &future,
            &EncodingKey::from_secret(b"secret-secret-secret-secret-1234"),
        )
        .unwrap();
        assert_eq!(k.verify(&t), Err(TokenError::Invalid));
        assert!(
            k.verify_ignoring_expiry(&t).is_err(),
            "nbf holds for returning visitors too"
        );
        future["nbf"] = serde_json::json!(now - 10);
        let t = encode(
            &Header::new(Algorithm::HS256),
            &future,
            &EncodingKey::from_secret(b"secret-secret-secret-secret-1234"),
        )
        .unwrap();
        assert!(k.verify(&t).is_ok(), "a past nbf is fine");
    }
}
