-- Issue 14, contract §9: people in the loop.
--
-- Conversations gain a hand-off `mode` ('ai' or 'human') and two read points:
-- `owner_read_pos`, how far the conversation's own identity (user, guest or
-- visitor) has read, and `operator_read_pos`, how far the bot's owner has read a
-- visitor's conversation. Both are message `pos` values and only ever grow.
-- Conversations that exist already count as read up to their last message, so an
-- upgrade does not light up every old conversation as unread.
--
-- Messages gain `read_at` (when the other side read it; NULL until then),
-- `feedback` (JSON `{rating, comment}`; NULL when none) and the role 'operator'.
-- SQLite cannot change a CHECK constraint in place, so `messages` is rebuilt;
-- its full-text index is external-content keyed by `pos`, which the copy keeps,
-- and its triggers are made again.

ALTER TABLE conversations ADD COLUMN mode TEXT NOT NULL DEFAULT 'ai' CHECK (mode IN ('ai', 'human'));
ALTER TABLE conversations ADD COLUMN owner_read_pos INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN operator_read_pos INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET
    owner_read_pos = COALESCE((SELECT MAX(m.pos) FROM messages m
                               WHERE m.owner_id = conversations.owner_id AND m.conversation_id = conversations.id), 0),
    operator_read_pos = COALESCE((SELECT MAX(m.pos) FROM messages m
                                  WHERE m.owner_id = conversations.owner_id AND m.conversation_id = conversations.id), 0);

CREATE TABLE messages_new (
    pos             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    owner_id        TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'operator')),
    content         TEXT NOT NULL,
    status          TEXT NOT NULL,
    client_id       TEXT,
    reply_id        TEXT,
    in_reply_to     TEXT,
    superseded      INTEGER NOT NULL DEFAULT 0,
    seq             INTEGER NOT NULL DEFAULT 0,
    metadata        TEXT NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    read_at         INTEGER,
    feedback        TEXT,
    FOREIGN KEY (owner_id, conversation_id) REFERENCES conversations (owner_id, id) ON DELETE CASCADE
);
INSERT INTO messages_new (pos, id, owner_id, conversation_id, role, content, status, client_id, reply_id,
                          in_reply_to, superseded, seq, metadata, created_at, finished_at)
SELECT pos, id, owner_id, conversation_id, role, content, status, client_id, reply_id,
       in_reply_to, superseded, seq, metadata, created_at, finished_at
FROM messages;
-- Dropped first so that dropping the table cannot touch the full-text index.
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE UNIQUE INDEX messages_client_id ON messages (owner_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX messages_page ON messages (owner_id, conversation_id, pos);
CREATE INDEX messages_live ON messages (status) WHERE status IN ('queued', 'streaming');
CREATE INDEX messages_versions ON messages (in_reply_to, pos) WHERE in_reply_to IS NOT NULL;
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.pos, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.pos, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.pos, old.content);
    INSERT INTO messages_fts (rowid, content) VALUES (new.pos, new.content);
END;
