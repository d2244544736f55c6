//! TLS for outgoing HTTPS (the model provider): rustls with the `ring` provider,
//! installed once per process.

pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
