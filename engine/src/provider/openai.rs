//! `openai`: any OpenAI-compatible endpoint, through async-openai's streaming
//! chat completions.
//!
//! async-openai's own retry layer is replaced by a bare HTTP service: Brook retries
//! by itself, only before the first token, and honours `Retry-After`, which the
//! service records for the request being made (async-openai's error type carries
//! the status but not the headers).

use std::cell::Cell;
use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::{HttpRequestFactory, ReqwestService};
use async_openai::types::chat::{
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestAssistantMessageContent, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessage, ChatCompletionRequestSystemMessageContent, ChatCompletionRequestUserMessage,
    ChatCompletionRequestUserMessageContent, ChatCompletionStreamOptions, CreateChatCompletionRequest,
    FinishReason as OaiFinish, StopConfiguration,
};
use async_openai::Client;
use async_trait::async_trait;
use futures::StreamExt;
use protocol::objects::{FinishReason, Usage};

use super::{CompletionRequest, Delta, DeltaStream, Provider, ProviderError, TurnRole};

/// What the HTTP layer saw of the last failed response in this task.
#[derive(Clone, Copy, Debug, Default)]
struct Seen {
    status: Option<u16>,
    retry_after: Option<Duration>,
}

tokio::task_local! {
    static LAST_RESPONSE: Cell<Seen>;
}

/// Idle connections to the provider kept for reuse.
pub const UPSTREAM_IDLE_CONNECTIONS: usize = 32;
/// How long an idle connection to the provider is kept.
pub const UPSTREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

pub struct OpenAiProvider {
    client: Client<OpenAIConfig>,
}

/// Parses `Retry-After` (seconds; HTTP dates are treated as one second).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    match v.trim().parse::<f64>() {
        Ok(s) if s >= 0.0 => Some(Duration::from_secs_f64(s.min(60.0))),
        _ => Some(Duration::from_secs(1)),
    }
}

impl OpenAiProvider {
    pub fn new(base_url: &str, api_key: Option<&str>) -> OpenAiProvider {
        crate::tls::install_crypto_provider();
        // Idle upstream connections each keep buffers of tens of KB: after a
        // burst of 1,000 streams an unbounded pool held ~40 MB for 90 s. Keep a
        // few warm (for the next first token) and let the rest go soon.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(UPSTREAM_IDLE_CONNECTIONS)
            .pool_idle_timeout(UPSTREAM_IDLE_TIMEOUT)
            .build()
            .unwrap_or_default();
        let inner = ReqwestService::new(http.clone());
        let service = tower::service_fn(move |factory: HttpRequestFactory| {
            let mut inner = inner.clone();
            async move {
                let response = tower::Service::call(&mut inner, factory).await?;
                if !response.status().is_success() {
                    let seen = Seen {
                        status: Some(response.status().as_u16()),
                        retry_after: retry_after(response.headers()),
                    };
                    let _ = LAST_RESPONSE.try_with(|c| c.set(seen));
                }
                Ok::<_, OpenAIError>(response)
            }
        });
        let config = OpenAIConfig::new()
            .with_api_base(base_url.trim_end_matches('/'))
            .with_api_key(api_key.unwrap_or(""));
        let client = Client::build(http, config).with_http_service(service);
        OpenAiProvider { client }
    }

    pub fn client(&self) -> &Client<OpenAIConfig> {
        &self.client
    }

    /// For `brook doctor`, which speaks to the operator: streams a short
    /// completion and returns its first text, or the provider's own error with
    /// its causes (what clients never see, [`classify`]).
    pub async fn probe(&self, model: &str) -> Result<String, String> {
        let req = CreateChatCompletionRequest {
            model: model.to_string(),
            messages: vec![
                ChatCompletionRequestUserMessage::from(ChatCompletionRequestUserMessageContent::Text("Say OK.".into()))
                    .into(),
            ],
            // No temperature: gpt-5 and o-series models refuse any (issue 15).
            ..Default::default()
        };
        let mut stream = self
            .client
            .chat()
            .create_stream(req)
            .await
            .map_err(|e| operator_detail(&e))?;
        while let Some(item) = stream.next().await {
            let chunk = item.map_err(|e| operator_detail(&e))?;
            if let Some(text) = chunk.choices.first().and_then(|c| c.delta.content.clone()) {
                if !text.is_empty() {
                    return Ok(text);
                }
            }
        }
        Err("the stream ended without text".into())
    }
}

/// An async-openai error in full for the operator (never for clients): the
/// provider's message, or the transport error with its root cause and without
/// the URL (which may carry credentials).
pub fn operator_detail(e: &OpenAIError) -> String {
    match e {
        OpenAIError::ApiError(r) => format!(
            "the provider answered {}: {}",
            r.status_code.as_u16(),
            r.api_error.message
        ),
        OpenAIError::Reqwest(err) => format!("cannot reach the model provider: {}", without_url(err)),
        other => other.to_string(),
    }
}

fn to_message(turn: &super::Turn) -> ChatCompletionRequestMessage {
    match turn.role {
        TurnRole::System => ChatCompletionRequestSystemMessage::from(ChatCompletionRequestSystemMessageContent::Text(
            turn.content.clone(),
        ))
        .into(),
        TurnRole::User => {
            ChatCompletionRequestUserMessage::from(ChatCompletionRequestUserMessageContent::Text(turn.content.clone()))
                .into()
        }
        TurnRole::Assistant => ChatCompletionRequestAssistantMessage::from(
            ChatCompletionRequestAssistantMessageContent::Text(turn.content.clone()),
        )
        .into(),
    }
}

/// What clients are told when the provider is unreachable or failing (5xx, 429,
/// a broken connection or stream): a fixed sentence, never the provider's own
/// words (issue 11 §4.10).
pub const UNAVAILABLE_SENTENCE: &str =
    "The model provider is unavailable right now. Your message is saved; try again shortly.";
/// What clients are told when the provider refused the request (4xx other than 429).
pub const REFUSED_SENTENCE: &str = "The model provider refused to answer. Your message is saved.";
/// What clients are told when the provider's stream could not be read.
pub const MALFORMED_SENTENCE: &str = "The model provider sent something Brook could not read. What arrived is kept.";

/// Sorts an async-openai error into retryable or not. The provider's raw
/// answer (its error body, reqwest's text, the status) goes to the log only,
/// inside the reply's span (which carries `reply_id`); the [`ProviderError`]'s
/// message, which clients see in `UPSTREAM_ERROR`, is one of the fixed
/// sentences above, because a provider's body may echo the key's prefix, the
/// organisation, the prompt or the operator's account details.
fn classify(e: &OpenAIError, seen: Seen) -> ProviderError {
    let retryable_status = |s: u16| s == 429 || s >= 500;
    let retryable = |retry_after| ProviderError::Retryable {
        message: UNAVAILABLE_SENTENCE.into(),
        retry_after,
    };
    match e {
        OpenAIError::ApiError(r) => {
            let status = r.status_code.as_u16();
            tracing::warn!(status, detail = %r.api_error.message, "the model provider answered with an error");
            if retryable_status(status) {
                retryable(seen.retry_after)
            } else {
                ProviderError::Fatal(REFUSED_SENTENCE.into())
            }
        }
        OpenAIError::Reqwest(err) => {
            tracing::warn!(detail = %without_url(err), "cannot reach the model provider");
            retryable(None)
        }
        OpenAIError::StreamError(err) => {
            tracing::warn!(detail = %err, "the model provider's stream broke");
            retryable(None)
        }
        OpenAIError::JSONDeserialize(err, _) => {
            tracing::warn!(status = ?seen.status, detail = %err, "unreadable answer from the model provider");
            match seen.status {
                Some(s) if retryable_status(s) => retryable(seen.retry_after),
                Some(_) => ProviderError::Fatal(REFUSED_SENTENCE.into()),
                None => ProviderError::Fatal(MALFORMED_SENTENCE.into()),
            }
        }
        other => {
            tracing::warn!(detail = %other, "model provider error");
            ProviderError::Fatal(REFUSED_SENTENCE.into())
        }
    }
}

/// The error without its URL (it may carry credentials), plus its root cause
/// ("connection refused"), which reqwest's own message leaves out.
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(&format!(" for url ({u})"), "").replace(u.as_str(), "");
    }
    let mut root = None;
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        root = Some(cause.to_string());
        source = cause.source();
    }
    match root {
        Some(r) if !s.contains(&r) => format!("{s}: {r}"),
        _ => s,
    }
}

fn finish(reason: &OaiFinish) -> FinishReason {
    match reason {
        OaiFinish::Length => FinishReason::Length,
        _ => FinishReason::Stop,
    }
}

#[async_trait]
impl Provider for OpenAiProvider {
    async fn stream(&self, request: CompletionRequest) -> Result<DeltaStream, ProviderError> {
        #[allow(deprecated)] // `max_tokens`: still the only cap many OpenAI-compatible servers know.
        let req = CreateChatCompletionRequest {
            model: request.model.clone(),
            messages: request.turns.iter().map(to_message).collect(),
            temperature: request.temperature,
            max_tokens: request.max_tokens,
            max_completion_tokens: request.max_completion_tokens,
            stop: (!request.stop.is_empty()).then(|| StopConfiguration::StringArray(request.stop.clone())),
            stream_options: Some(ChatCompletionStreamOptions {
                include_usage: Some(true),
                include_obfuscation: None,
            }),
            ..Default::default()
        };
        let client = self.client.clone();
        let opened = LAST_RESPONSE
            .scope(Cell::new(Seen::default()), async move {
                let r = client.chat().create_stream(req).await;
                (r, LAST_RESPONSE.with(|c| c.get()))
            })
            .await;
        let stream = match opened {
            (Ok(s), _) => s,
            (Err(e), seen) => return Err(classify(&e, seen)),
        };
        let deltas = stream.flat_map(|item| {
            let out: Vec<Result<Delta, ProviderError>> = match item {
                Err(e) => vec![Err(classify(&e, Seen::default()))],
                Ok(chunk) => {
                    let mut v = Vec::new();
                    for choice in chunk.choices.iter().filter(|c| c.index == 0) {
                        if let Some(text) = &choice.delta.content {
                            if !text.is_empty() {
                                v.push(Ok(Delta::Text(text.clone())));
                            }
                        }
                        if let Some(r) = &choice.finish_reason {
                            v.push(Ok(Delta::Finish(finish(r))));
                        }
                    }
                    if let Some(u) = &chunk.usage {
                        v.push(Ok(Delta::Usage(Usage {
                            prompt_tokens: u.prompt_tokens,
                            completion_tokens: u.completion_tokens,
                            total_tokens: u.total_tokens,
                        })));
                    }
                    v
                }
            };
            futures::stream::iter(out)
        });
        Ok(deltas.boxed())
    }
}
