//! Column lists shared by several tables' queries.

/// A conversation's columns, unqualified, for `RETURNING` (SQLite does not
/// take the table's alias there). The unread counts are 0 here: a `RETURNING`
/// row comes from a send, which reads everything.
pub(super) const CONV_COLS_BARE: &str = "owner_id, id, bot_id, title, created_at, updated_at, last_message_preview, \
     mode, owner_read_pos, operator_read_pos, CAST(0 AS BIGINT) AS owner_unread, CAST(0 AS BIGINT) AS operator_unread";

/// A conversation's columns (alias `c`) with the unread counts of contract
/// §9.3 (each a range read of `messages_page`).
pub(super) const CONV_COLS: &str = "c.owner_id, c.id, c.bot_id, c.title, c.created_at, c.updated_at, \
     c.last_message_preview, c.mode, c.owner_read_pos, c.operator_read_pos, \
     (SELECT COUNT(*) FROM messages um WHERE um.owner_id = c.owner_id AND um.conversation_id = c.id \
       AND um.pos > c.owner_read_pos AND um.role <> 'user' AND um.superseded = 0) AS owner_unread, \
     (SELECT COUNT(*) FROM messages um WHERE um.owner_id = c.owner_id AND um.conversation_id = c.id \
       AND um.pos > c.operator_read_pos AND um.role = 'user') AS operator_unread";

/// A message's own columns (alias `m`), without the version numbers.
pub(super) const MESSAGE_COLS_BARE: &str = "m.pos, m.id, m.owner_id, m.conversation_id, m.role, m.content, \
     m.status, m.client_id, m.reply_id, m.in_reply_to, m.superseded, m.seq, m.metadata, m.created_at, \
     m.finished_at, m.read_at, m.feedback";

/// A message's columns (alias `m`) with its `version` among the replies to the
/// same message and their count, `versions` (0 for a message that is no reply).
pub(super) const MESSAGE_COLS: &str = "m.pos, m.id, m.owner_id, m.conversation_id, m.role, m.content, m.status, \
     m.client_id, m.reply_id, m.in_reply_to, m.superseded, m.seq, m.metadata, m.created_at, m.finished_at, \
     m.read_at, m.feedback, \
     CASE WHEN m.in_reply_to IS NULL THEN 0 ELSE \
       (SELECT COUNT(*) FROM messages v WHERE v.in_reply_to = m.in_reply_to AND v.pos <= m.pos) END AS version, \
     CASE WHEN m.in_reply_to IS NULL THEN 0 ELSE \
       (SELECT COUNT(*) FROM messages v WHERE v.in_reply_to = m.in_reply_to) END AS versions";
