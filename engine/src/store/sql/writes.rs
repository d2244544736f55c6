//! The text of the chat's hot writes, shared by the sqlx transactions
//! ([`super::tx`], [`super::chat`]) and SQLite's group commit
//! ([`super::group_commit`]), so each statement is written once. Every one uses
//! `$N` placeholders, bound by number on both paths.

use std::sync::LazyLock;

use super::columns::{CONV_COLS, CONV_COLS_BARE, MESSAGE_COLS};
use crate::store::ReadSide;

/// A message by id: `$1` id.
pub(super) static MESSAGE_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {MESSAGE_COLS} FROM messages m WHERE m.id = $1"));

/// A message by its sender's idempotency key: `$1` owner, `$2` client id.
pub(super) static MESSAGE_BY_CLIENT_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {MESSAGE_COLS} FROM messages m WHERE m.owner_id = $1 AND m.client_id = $2"));

/// A new message, returning its `pos`: `$1`–`$11` as the column list names them.
pub(super) const INSERT_MESSAGE: &str = "INSERT INTO messages (id, owner_id, conversation_id, role, content, status, \
     client_id, reply_id, in_reply_to, metadata, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
     RETURNING pos";

/// Creates an exchange's conversation or touches it, returning it: `$1` owner,
/// `$2` id, `$3` bot, `$4` title, `$5` now (µs), `$6` preview.
pub(super) static UPSERT_CONVERSATION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO conversations AS c (owner_id, id, bot_id, title, created_at, updated_at, \
         last_message_preview) VALUES ($1, $2, $3, $4, $5, $5, $6) ON CONFLICT (owner_id, id) DO UPDATE SET \
         updated_at = CASE WHEN c.updated_at >= $5 THEN c.updated_at + 1 ELSE $5 END, \
         last_message_preview = $6 RETURNING {CONV_COLS_BARE}"
    )
});

/// Moves a conversation's `updated_at` (always forward) and sets its preview
/// when given, returning it with its unread counts: `$1` owner, `$2` id, `$3`
/// now (µs), `$4` preview or NULL. SQLite's RETURNING does not know an
/// UPDATE's alias: the columns are named by the table.
pub(super) static TOUCH_CONVERSATION_RETURNING: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE conversations SET updated_at = CASE WHEN updated_at >= $3 THEN updated_at + 1 ELSE $3 END, \
         last_message_preview = COALESCE($4, last_message_preview) WHERE owner_id = $1 AND id = $2 \
         RETURNING {}",
        CONV_COLS.replace("c.", "conversations.")
    )
});

/// Stamps `read_at` on the messages `side` reads between its read point and
/// `$3`: `$1` owner, `$2` conversation, `$3` pos, `$4` now (µs).
pub(super) fn read_stamp_sql(side: ReadSide) -> &'static str {
    static OWNER: LazyLock<String> = LazyLock::new(|| read_stamp(ReadSide::Owner));
    static OPERATOR: LazyLock<String> = LazyLock::new(|| read_stamp(ReadSide::Operator));
    match side {
        ReadSide::Owner => OWNER.as_str(),
        ReadSide::Operator => OPERATOR.as_str(),
    }
}

fn read_stamp(side: ReadSide) -> String {
    let (col, roles) = (side.column(), side.roles_sql());
    format!(
        "UPDATE messages SET read_at = $4 WHERE owner_id = $1 AND conversation_id = $2 AND pos <= $3 \
         AND pos > (SELECT {col} FROM conversations WHERE owner_id = $1 AND id = $2) \
         AND read_at IS NULL AND {roles}"
    )
}

/// Moves `side`'s read point forward to `$3` (never back): `$1` owner, `$2` conversation.
pub(super) fn read_advance_sql(side: ReadSide) -> &'static str {
    match side {
        ReadSide::Owner => {
            "UPDATE conversations SET owner_read_pos = $3 WHERE owner_id = $1 AND id = $2 AND owner_read_pos < $3"
        }
        ReadSide::Operator => {
            "UPDATE conversations SET operator_read_pos = $3 WHERE owner_id = $1 AND id = $2 \
             AND operator_read_pos < $3"
        }
    }
}

/// Marks a queued reply `streaming`: `$1` reply id.
pub(super) const REPLY_STREAMING: &str = "UPDATE messages SET status = 'streaming' WHERE id = $1 AND status = 'queued'";

/// A streaming reply's text so far: `$1` reply id, `$2` content, `$3` seq.
pub(super) const CHECKPOINT_REPLY: &str =
    "UPDATE messages SET content = $2, seq = $3 WHERE id = $1 AND status = 'streaming'";

/// A reply's final state: `$1` id, `$2` content, `$3` status, `$4` metadata
/// (JSON text), `$5` seq, `$6` finished at (µs).
pub(super) const FINISH_REPLY: &str =
    "UPDATE messages SET content = $2, status = $3, metadata = $4, seq = $5, finished_at = $6 WHERE id = $1";

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written read-advance statements say what `read_stamp` would build.
    #[test]
    fn read_statements_name_each_sides_column() {
        for side in [ReadSide::Owner, ReadSide::Operator] {
            assert!(read_advance_sql(side).contains(&format!("SET {} = $3", side.column())));
            assert!(read_advance_sql(side).ends_with(&format!("{} < $3", side.column())));
            assert!(read_stamp_sql(side).contains(side.roles_sql()));
        }
    }
}
