//! `demo`: a built-in offline model, so a new install shows the whole product
//! working with no key and no network. Its reply is deterministic for a given
//! message (tests rely on the text) and streams at a readable pace.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use protocol::objects::{FinishReason, Usage};

use super::{estimate_tokens, CompletionRequest, Delta, DeltaStream, Provider, ProviderError, TurnRole};

pub const DEMO_MODEL: &str = "demo";

pub struct DemoProvider {
    pub token_delay: Duration,
}

/// The reply the demo model gives to `message`.
pub fn demo_reply(message: &str) -> String {
    let quoted: String = message.chars().take(200).collect::<String>();
    let quoted = quoted.lines().map(|l| format!("> {l}")).collect::<Vec<_>>().join("\n");
    let words = message.split_whitespace().count();
    format!(
        "This is **Brook's demo model** answering. It runs offline, so the reply is canned, \
         but it streams exactly like a real one.\n\n\
         You wrote {words} word{s}:\n\n{quoted}\n\n\
         Here is what a model's markdown looks like in Brook:\n\n\
         - **bold**, *italic* and `inline code`\n\
         - a [link to the docs](https://github.com/)\n\
         - numbered steps and tables are supported too\n\n\
         ```rust\nfn main() {{\n    println!(\"Hello from Brook!\");\n}}\n```\n\n\
         To talk to a real model, set `OPENAI_API_KEY` (or point `OPENAI_BASE_URL` at Ollama, vLLM \
         or any OpenAI-compatible server) and restart Brook.",
        s = if words == 1 { "" } else { "s" },
    )
}

/// Splits text into word-sized pieces, keeping every character (whitespace rides
/// with the word before it), so the pieces join back to the text exactly.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_space = false;
    for c in text.chars() {
        let space = c.is_whitespace();
        if !space && in_space && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        in_space = space;
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[async_trait]
impl Provider for DemoProvider {
    /// Whatever was asked for, the demo model answers: replies say `demo`.
    fn model_for(&self, _requested: &str) -> String {
        DEMO_MODEL.to_string()
    }

    async fn stream(&self, request: CompletionRequest) -> Result<DeltaStream, ProviderError> {
        let last_user = request
            .turns
            .iter()
            .rev()
            .find(|t| t.role == TurnRole::User)
            .map(|t| t.content.clone())
            .unwrap_or_default();
        let prompt_tokens: usize = request.turns.iter().map(|t| estimate_tokens(&t.content)).sum();
        let pieces = tokenize(&demo_reply(&last_user));
        let completion_tokens = pieces.len() as u32;
        let delay = self.token_delay;
        let text = futures::stream::iter(pieces).then(move |p| async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok(Delta::Text(p))
        });
        let tail = futures::stream::iter([
            Ok(Delta::Usage(Usage {
                prompt_tokens: prompt_tokens as u32,
                completion_tokens,
                total_tokens: prompt_tokens as u32 + completion_tokens,
            })),
            Ok(Delta::Finish(FinishReason::Stop)),
        ]);
        Ok(text.chain(tail).boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_join_back_exactly() {
        let r = demo_reply("hello  there\nfriend");
        let t = tokenize(&r);
        assert!(t.len() > 50);
        assert_eq!(t.concat(), r);
        assert_eq!(tokenize("a  b\n c"), vec!["a  ", "b\n ", "c"]);
    }

    #[test]
    fn the_demo_names_itself_and_openai_the_model_asked_for() {
        let demo = DemoProvider {
            token_delay: Duration::ZERO,
        };
        assert_eq!(demo.model_for("gpt-4o-mini"), DEMO_MODEL);
        crate::tls::install_crypto_provider();
        let openai = super::super::openai::OpenAiProvider::new("http://127.0.0.1:9/v1", None);
        assert_eq!(openai.model_for("gpt-4o-mini"), "gpt-4o-mini");
    }
}
