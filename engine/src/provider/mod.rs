//! Model providers: where reply text comes from.
//!
//! A provider turns a prompt into a stream of [`Delta`]s. Time-outs, retries before
//! the first token and cancellation are the reply runner's business (they are the
//! same for every provider); a provider only reports what happened, with errors
//! classified as retryable or not.

pub mod demo;
pub mod openai;

use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use protocol::objects::{FinishReason, Usage};

/// One turn of the prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Turn {
    pub role: TurnRole,
    pub content: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnRole {
    System,
    User,
    Assistant,
}

#[derive(Clone, Debug)]
pub struct CompletionRequest {
    pub model: String,
    /// `None`: the field is left out of the upstream request.
    pub temperature: Option<f32>,
    pub turns: Vec<Turn>,
    /// Caps from an OpenAI-compatible request (§10), passed on under the name the
    /// client used: o-series models take only `max_completion_tokens`, older
    /// servers only `max_tokens`.
    pub max_tokens: Option<u32>,
    pub max_completion_tokens: Option<u32>,
    /// Up to 4 stop sequences; empty: none.
    pub stop: Vec<String>,
}

/// What a provider streams.
#[derive(Clone, Debug, PartialEq)]
pub enum Delta {
    Text(String),
    /// The model said why it stopped. A stream that ends without one was cut off.
    Finish(FinishReason),
    Usage(Usage),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Worth another try before any token was shown: connection errors, 5xx, 429.
    #[error("{message}")]
    Retryable {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Not worth retrying: a bad key, an unknown model, a malformed stream.
    #[error("{0}")]
    Fatal(String),
}

pub type DeltaStream = BoxStream<'static, Result<Delta, ProviderError>>;

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The name of the model that answers a request for `requested`, as a
    /// reply's metadata records it (contract §3.4 `metadata.model`). By default
    /// the requested model itself; a provider that serves one fixed model (the
    /// offline demo) names that one.
    fn model_for(&self, requested: &str) -> String {
        requested.to_string()
    }
    /// Opens the stream. Errors before the first delta may be returned here or as
    /// the stream's first item.
    async fn stream(&self, request: CompletionRequest) -> Result<DeltaStream, ProviderError>;
}

/// A rough token count (about four characters per token), used for the context
/// budget and for usage when a provider does not report it.
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4).max(1)
}
