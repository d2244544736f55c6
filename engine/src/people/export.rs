//! Exporting a conversation (contract §9.4): Markdown (the newest version of
//! each reply, as the conversation reads) or JSON (every version of every
//! reply), as a download.

use protocol::objects::{Message, MessageRole};
use serde::Serialize;

use crate::auth::Identity;
use crate::chat::Via;
use crate::error::{Error, Result};
use crate::store::{ConversationRow, MessageRow};

/// `?format=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Markdown,
    Json,
}

impl ExportFormat {
    /// `markdown` (the default when absent) or `json`; anything else is `None`.
    pub fn parse(raw: Option<&str>) -> Option<ExportFormat> {
        match raw.map(str::trim) {
            None | Some("") | Some("markdown") | Some("md") => Some(ExportFormat::Markdown),
            Some("json") => Some(ExportFormat::Json),
            _ => None,
        }
    }
}

/// A finished export: the body, its media type and a file name.
pub struct Export {
    pub body: String,
    pub content_type: &'static str,
    pub filename: String,
}

#[derive(Serialize)]
struct JsonExport {
    conversation: protocol::objects::Conversation,
    /// Oldest first; replies that were regenerated appear once per version.
    messages: Vec<Message>,
}

impl super::People {
    /// `GET /api/v1/conversations/{id}/export?format=markdown|json`.
    pub async fn export(&self, who: &Identity, session_id: &str, format: ExportFormat) -> Result<Export> {
        Via::Http.check_session_id(session_id)?;
        let conversation = self
            .store
            .conversation(&who.user_id, session_id)
            .await?
            .ok_or_else(|| Error::not_found("conversation"))?;
        let rows = self.store.all_messages(&who.user_id, session_id).await?;
        let stem = file_stem(&conversation.title);
        Ok(match format {
            ExportFormat::Json => {
                let doc = JsonExport {
                    conversation: conversation.to_conversation(),
                    messages: with_versions(&rows),
                };
                Export {
                    body: serde_json::to_string_pretty(&doc).map_err(|_| Error::internal())?,
                    content_type: "application/json",
                    filename: format!("{stem}.json"),
                }
            }
            ExportFormat::Markdown => Export {
                body: markdown(&conversation, &rows),
                content_type: "text/markdown; charset=utf-8",
                filename: format!("{stem}.md"),
            },
        })
    }
}

/// Every row as a message object, versions numbered as the message list numbers them.
fn with_versions(rows: &[MessageRow]) -> Vec<Message> {
    use std::collections::HashMap;
    let mut totals: HashMap<String, i64> = HashMap::new();
    for k in rows.iter().filter_map(|r| r.in_reply_to.clone()) {
        *totals.entry(k).or_insert(0) += 1;
    }
    let mut seen: HashMap<String, i64> = HashMap::new();
    rows.iter()
        .map(|r| {
            let mut r = r.clone();
            if let Some(k) = r.in_reply_to.clone() {
                let n = seen.entry(k.clone()).or_insert(0);
                *n += 1;
                r.version = *n;
                r.versions = totals.get(&k).copied().unwrap_or(1);
            }
            r.to_message()
        })
        .collect()
}

/// The conversation as it reads: superseded reply versions left out.
fn markdown(c: &ConversationRow, rows: &[MessageRow]) -> String {
    let mut out = format!("# {}\n\n", c.title.replace('\n', " "));
    for r in rows.iter().filter(|r| !r.superseded) {
        let who = match r.role {
            MessageRole::User => "User".to_string(),
            MessageRole::Assistant => "Assistant".to_string(),
            MessageRole::Operator => {
                let name = r
                    .metadata_value()
                    .pointer("/author/name")
                    .and_then(|n| n.as_str())
                    .map(str::to_string);
                match name {
                    Some(n) => format!("{n} (operator)"),
                    None => "Operator".to_string(),
                }
            }
        };
        out.push_str(&format!(
            "**{who}** · {}\n\n{}\n\n",
            crate::time::rfc3339(r.created_at),
            r.content
        ));
    }
    out
}

/// A safe file name from a title: letters, digits, `-` and `_`, at most 60.
fn file_stem(title: &str) -> String {
    let s: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(60)
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "conversation".to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_stem("Hello, world!"), "Hello--world");
        assert_eq!(file_stem("\"; rm -rf /"), "rm--rf");
        assert_eq!(file_stem("ünï"), "n");
        assert_eq!(file_stem("ü ï?"), "conversation");
    }

    #[test]
    fn formats() {
        assert_eq!(ExportFormat::parse(None), Some(ExportFormat::Markdown));
        assert_eq!(ExportFormat::parse(Some("json")), Some(ExportFormat::Json));
        assert_eq!(ExportFormat::parse(Some("pdf")), None);
    }
}
