//! The chat: sending messages, regenerating, stopping, resuming and the live
//! events around them. Every transport (WebSocket, HTTP, SSE, long poll) calls
//! these, so they all keep the same guarantees and answer with the same codes.

pub mod announce;
mod attempt;
pub mod context;
pub mod exchange;
mod finalize;
pub mod frames;
pub mod head_start;
pub(crate) mod observe;
pub mod quota;
pub mod replies;
pub mod runner;
pub mod scheduler;
pub(crate) mod shared_line;
pub mod stateless;
pub mod typing;
pub mod validate;
pub mod view;

pub use exchange::{Redo, SendMessage};
pub use validate::Via;
pub use view::{stored_complete, ReplyView};

/// A conversation's first title: the first words of its first message.
pub fn title_from(message: &str) -> String {
    let words: Vec<&str> = message.split_whitespace().collect();
    let mut title = String::new();
    for w in words {
        if title.chars().count() + w.chars().count() + 1 > 60 {
            break;
        }
        if !title.is_empty() {
            title.push(' ');
        }
        title.push_str(w);
    }
    if title.is_empty() {
        title = message
            .split_whitespace()
            .next()
            .unwrap_or("")
            .chars()
            .take(60)
            .collect();
    }
    if title.is_empty() {
        "New chat".into()
    } else {
        title
    }
}

/// A message's preview in the conversation list: markdown markers dropped,
/// whitespace folded, ~140 characters.
pub fn preview(text: &str) -> String {
    let plain: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("```"))
        .map(|l| {
            l.trim_start()
                .trim_start_matches(['#', '>', '-', '*', '+'])
                .trim_start()
        })
        .collect::<Vec<_>>()
        .join(" ")
        .replace("**", "")
        .replace('`', "");
    let folded = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= 140 {
        folded
    } else {
        let mut s: String = folded.chars().take(139).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_previews() {
        assert_eq!(
            title_from("  What is   the engine power? "),
            "What is the engine power?"
        );
        assert!(title_from(&"word ".repeat(100)).chars().count() <= 60);
        assert_eq!(title_from(&"x".repeat(100)).chars().count(), 60);
        assert_eq!(title_from("   "), "New chat");
        assert_eq!(preview("a\n\nb"), "a b");
        assert_eq!(
            preview("This is **bold**\n\n- item `code`\n```rust\nx\n```"),
            "This is bold item code x"
        );
        assert_eq!(preview(&"y".repeat(500)).chars().count(), 140);
    }
}
