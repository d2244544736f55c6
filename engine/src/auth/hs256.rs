//! The one signature algorithm Brook uses, HS256, as `jsonwebtoken`'s crypto
//! provider (issue 15, dependency hygiene).
//!
//! `jsonwebtoken` 10's `rust_crypto` feature brings every algorithm it knows,
//! RSA included (the `rsa` crate, RUSTSEC-2023-0071), though Brook only signs
//! and verifies HS256. Built without crypto features, it asks for a provider:
//! this one does HMAC-SHA-256 with RustCrypto's `hmac` and `sha2` (the same
//! crates `rust_crypto` uses for HS256) and refuses every other algorithm with
//! `InvalidAlgorithm`. Verification compares in constant time (`verify_slice`).

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// An HS256 signer or verifier holding the keyed MAC state.
struct Hs256(HmacSha256);

impl Hs256 {
    fn new(secret: &[u8]) -> Result<Hs256, Error> {
        HmacSha256::new_from_slice(secret)
            .map(Hs256)
            .map_err(|_| ErrorKind::InvalidKeyFormat.into())
    }
}

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let mut mac = self.0.clone();
        mac.update(msg);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> Result<(), signature::Error> {
        let mut mac = self.0.clone();
        mac.update(msg);
        mac.verify_slice(sig).map_err(signature::Error::from_source)
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

fn signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    match alg {
        Algorithm::HS256 => Ok(Box::new(Hs256::new(key.try_get_hmac_secret()?)?)),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    match alg {
        Algorithm::HS256 => Ok(Box::new(Hs256::new(key.try_get_hmac_secret()?)?)),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    // Brook reads no JWKs.
    jwk_utils: JwkUtils::new_unimplemented(),
};

/// Makes this provider `jsonwebtoken`'s process-wide default. Idempotent: a
/// second call (or a provider installed before) leaves the first in place.
pub fn install() {
    let _ = PROVIDER.install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_rfc_4231_test_case_2() {
        // RFC 4231 §4.3: HMAC-SHA-256 of "what do ya want for nothing?" keyed "Jefe".
        let s = Hs256::new(b"Jefe").unwrap();
        let mac = s.try_sign(b"what do ya want for nothing?").unwrap();
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert!(Verifier::verify(&s, b"what do ya want for nothing?", &mac).is_ok());
        assert!(Verifier::verify(&s, b"what do ya want for nothing!", &mac).is_err());
    }

    #[test]
    fn refuses_other_algorithms() {
        let key = EncodingKey::from_secret(b"k");
        assert!(signer(&Algorithm::HS384, &key).is_err());
        assert!(signer(&Algorithm::RS256, &key).is_err());
        assert!(verifier(&Algorithm::HS512, &DecodingKey::from_secret(b"k")).is_err());
    }
}
