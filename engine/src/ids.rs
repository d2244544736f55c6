//! Identifier and secret generation.

use rand::distr::{Alphanumeric, SampleString};

/// A new opaque id: a UUIDv7 (time-ordered, so inserts land at the end of indexes).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A random alphanumeric secret of `len` characters from the OS's CSPRNG.
pub fn secret(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// A bot's public widget key.
pub fn public_key() -> String {
    format!("pk_{}", secret(24))
}
