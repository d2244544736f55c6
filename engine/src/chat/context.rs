//! The prompt sent upstream: the bot's system prompt, then as much of the
//! conversation as fits in `BROOK_CONTEXT_TOKENS` (estimated), newest kept.

use protocol::objects::{MessageRole, MessageStatus};

use crate::provider::{estimate_tokens, Turn, TurnRole};
use crate::store::MessageRow;

/// `history` is newest first and ends (at index 0) with the message being answered.
pub fn build(system_prompt: &str, history: &[MessageRow], budget: usize) -> Vec<Turn> {
    let mut used = if system_prompt.trim().is_empty() {
        0
    } else {
        estimate_tokens(system_prompt)
    };
    let mut picked: Vec<Turn> = Vec::new();
    for (i, m) in history.iter().enumerate() {
        let role = match m.role {
            MessageRole::User => TurnRole::User,
            // A person who answered for the bot spoke as the assistant (§9.1).
            MessageRole::Assistant | MessageRole::Operator => TurnRole::Assistant,
        };
        // Replies still in flight or with no text say nothing the model needs.
        if role == TurnRole::Assistant
            && (m.content.trim().is_empty() || matches!(m.status, MessageStatus::Queued | MessageStatus::Streaming))
        {
            continue;
        }
        let cost = estimate_tokens(&m.content);
        // The message being answered always goes, even alone over budget.
        if i > 0 && used + cost > budget {
            break;
        }
        used += cost;
        picked.push(Turn {
            role,
            content: m.content.clone(),
        });
    }
    picked.reverse();
    let mut turns = Vec::with_capacity(picked.len() + 1);
    if !system_prompt.trim().is_empty() {
        turns.push(Turn {
            role: TurnRole::System,
            content: system_prompt.to_string(),
        });
    }
    turns.extend(picked);
    turns
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(role: &str, content: &str) -> MessageRow {
        let role = MessageRole::parse(role).expect("a test role");
        MessageRow {
            content: content.into(),
            ..MessageRow::new("", "", "", role, 0)
        }
    }

    #[test]
    fn keeps_newest_within_budget_and_orders_oldest_first() {
        let long = "x".repeat(400); // ~100 tokens
        let history = vec![
            row("user", "q3"),
            row("assistant", &long),
            row("user", &long),
            row("assistant", "a1"),
            row("user", "q1"),
        ];
        let turns = build("sys", &history, 150);
        let contents: Vec<&str> = turns.iter().map(|t| t.content.as_str()).collect();
        assert_eq!(contents, vec!["sys", &long, "q3"]);
        let all = build("", &history, 10_000);
        assert_eq!(all.len(), 5);
        assert_eq!(all[0].content, "q1");
        assert_eq!(all[4].content, "q3");
    }

    #[test]
    fn the_question_always_goes() {
        let huge = "y".repeat(100_000);
        let turns = build("", &[row("user", &huge)], 10);
        assert_eq!(turns.len(), 1);
    }
}
