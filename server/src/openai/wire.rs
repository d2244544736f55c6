//! The OpenAI Chat Completions wire format, as much of it as Brook reads and
//! writes (contract §10). Request fields Brook does not use are ignored.

use engine::chat::stateless::StatelessRequest;
use engine::provider::{Turn, TurnRole};
use protocol::objects::{FinishReason, Usage};
use protocol::ErrorCode;
use serde::{Deserialize, Serialize};

use super::error::OaiError;

/// `POST /v1/chat/completions` body.
#[derive(Debug, Deserialize)]
pub struct ChatCompletionRequest {
    pub model: String,
    pub messages: Vec<RequestMessage>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    #[serde(default)]
    pub temperature: Option<f32>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
    #[serde(default)]
    pub stop: Option<StopField>,
    /// Accepted (OpenAI's abuse-tracking id); Brook knows the caller already.
    #[serde(default)]
    pub user: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StopField {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
pub struct RequestMessage {
    pub role: String,
    #[serde(default)]
    pub content: Option<Content>,
}

/// A string, or parts of which only `text` ones are understood.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Debug, Deserialize)]
pub struct Part {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
}

fn bad(message: impl Into<String>) -> OaiError {
    OaiError::new(ErrorCode::InvalidFrame, message)
}

fn text_of(i: usize, content: Option<Content>) -> Result<String, OaiError> {
    match content {
        None => Ok(String::new()),
        Some(Content::Text(t)) => Ok(t),
        Some(Content::Parts(parts)) => {
            let mut out = String::new();
            for p in parts {
                match (p.kind.as_str(), p.text) {
                    ("text", Some(t)) => out.push_str(&t),
                    (kind, _) => {
                        return Err(bad(format!(
                            "messages[{i}].content: only text parts are supported, not {kind:?}"
                        )))
                    }
                }
            }
            Ok(out)
        }
    }
}

impl ChatCompletionRequest {
    /// Whether to answer with Server-Sent Events.
    pub fn streams(&self) -> bool {
        self.stream.unwrap_or(false)
    }

    /// Whether a streamed answer ends with a usage chunk.
    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false)
    }

    /// The engine's request. Roles `system` and `developer` become system turns;
    /// `tool` and `function` messages are dropped (Brook offers no tools); any
    /// other role, or a non-text part, is `400 INVALID_FRAME`.
    pub fn into_engine(self, ip: std::net::IpAddr) -> Result<StatelessRequest, OaiError> {
        let mut turns = Vec::with_capacity(self.messages.len());
        for (i, m) in self.messages.into_iter().enumerate() {
            let role = match m.role.as_str() {
                "system" | "developer" => TurnRole::System,
                "user" => TurnRole::User,
                "assistant" => TurnRole::Assistant,
                "tool" | "function" => continue,
                other => return Err(bad(format!("messages[{i}].role: unknown role {other:?}"))),
            };
            turns.push(Turn {
                role,
                content: text_of(i, m.content)?,
            });
        }
        let stop = match self.stop {
            None => Vec::new(),
            Some(StopField::One(s)) => vec![s],
            Some(StopField::Many(v)) => v,
        };
        Ok(StatelessRequest {
            model: self.model,
            turns,
            temperature: self.temperature,
            max_tokens: self.max_tokens,
            max_completion_tokens: self.max_completion_tokens,
            stop,
            ip: Some(ip),
        })
    }
}

/// OpenAI's `finish_reason` for Brook's.
pub fn finish_reason(f: FinishReason) -> &'static str {
    match f {
        FinishReason::Length => "length",
        _ => "stop",
    }
}

#[derive(Debug, Serialize)]
pub struct UsageOut {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub total_tokens: u32,
}

impl From<Usage> for UsageOut {
    fn from(u: Usage) -> Self {
        UsageOut {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            total_tokens: u.total_tokens,
        }
    }
}

/// A non-streamed answer: `chat.completion`.
#[derive(Debug, Serialize)]
pub struct ChatCompletion {
    pub id: String,
    pub object: &'static str,
    /// Unix seconds.
    pub created: i64,
    pub model: String,
    pub choices: Vec<Choice>,
    pub usage: UsageOut,
    pub system_fingerprint: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Choice {
    pub index: u32,
    pub message: AssistantMessage,
    pub finish_reason: &'static str,
    pub logprobs: Option<()>,
}

#[derive(Debug, Serialize)]
pub struct AssistantMessage {
    pub role: &'static str,
    pub content: String,
    pub refusal: Option<String>,
}

/// One streamed event: `chat.completion.chunk`.
#[derive(Debug, Serialize)]
pub struct Chunk<'a> {
    pub id: &'a str,
    pub object: &'static str,
    pub created: i64,
    pub model: &'a str,
    pub choices: Vec<ChunkChoice<'a>>,
    /// With `include_usage`: `null` on every chunk but the last, which has no choices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Option<UsageOut>>,
}

#[derive(Debug, Serialize)]
pub struct ChunkChoice<'a> {
    pub index: u32,
    pub delta: Delta<'a>,
    pub finish_reason: Option<&'static str>,
    pub logprobs: Option<()>,
}

#[derive(Debug, Default, Serialize)]
pub struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<&'a str>,
}

/// `GET /v1/models`: the caller's bots.
#[derive(Debug, Serialize)]
pub struct ModelList {
    pub object: &'static str,
    pub data: Vec<Model>,
}

#[derive(Debug, Serialize)]
pub struct Model {
    /// The bot's id.
    pub id: String,
    pub object: &'static str,
    /// Unix seconds: when the bot was made.
    pub created: i64,
    pub owned_by: String,
}
