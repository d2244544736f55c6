-- Brook's schema on SQLite. Times are microseconds since the Unix epoch (INTEGER),
-- flags are 0/1, JSON is TEXT. The PostgreSQL schema mirrors it column for column.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT UNIQUE,                 -- lower-cased; NULL for guests and visitors
    name          TEXT,
    role          TEXT NOT NULL CHECK (role IN ('user', 'guest', 'visitor')),
    password_hash TEXT,
    bot_id        TEXT,                        -- a visitor's bot
    created_at    INTEGER NOT NULL
);

CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);

CREATE TABLE bots (
    id              TEXT PRIMARY KEY,
    owner_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    system_prompt   TEXT NOT NULL DEFAULT '',
    model           TEXT NOT NULL,
    temperature     REAL NOT NULL,
    greeting        TEXT NOT NULL DEFAULT '',
    widget_enabled  INTEGER NOT NULL DEFAULT 0,
    public_key      TEXT NOT NULL UNIQUE,
    allowed_origins TEXT NOT NULL DEFAULT '[]',
    theme           TEXT NOT NULL DEFAULT '{}',
    is_default      INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX bots_owner ON bots (owner_id, created_at);
CREATE UNIQUE INDEX bots_one_default ON bots (owner_id) WHERE is_default = 1;

-- Conversation ids belong to their owner: two identities may use the same id.
CREATE TABLE conversations (
    owner_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id                   TEXT NOT NULL,
    bot_id               TEXT NOT NULL,
    title                TEXT NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    last_message_preview TEXT,
    PRIMARY KEY (owner_id, id)
);
-- The sidebar: newest activity first, keyset-paged on (updated_at, id).
CREATE INDEX conversations_recent ON conversations (owner_id, updated_at DESC, id DESC);
-- A bot owner's view of its visitors' conversations.
CREATE INDEX conversations_bot ON conversations (bot_id, updated_at DESC, id DESC);

-- `pos` orders messages; message and reply ids are globally unique.
CREATE TABLE messages (
    pos             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    owner_id        TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
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
    FOREIGN KEY (owner_id, conversation_id) REFERENCES conversations (owner_id, id) ON DELETE CASCADE
);
-- Idempotent sends: one message per (identity, client_id).
CREATE UNIQUE INDEX messages_client_id ON messages (owner_id, client_id) WHERE client_id IS NOT NULL;
-- Backwards paging through one conversation.
CREATE INDEX messages_page ON messages (owner_id, conversation_id, pos);
-- Start-up recovery finds unfinished replies without a scan.
CREATE INDEX messages_live ON messages (status) WHERE status IN ('queued', 'streaming');
-- Reply versions (regenerate).
CREATE INDEX messages_versions ON messages (in_reply_to, pos) WHERE in_reply_to IS NOT NULL;

-- Full-text search over message text, kept in step by triggers.
CREATE VIRTUAL TABLE messages_fts USING fts5 (content, content = 'messages', content_rowid = 'pos');
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

-- Completion tokens spent per identity per UTC day (quotas).
CREATE TABLE usage_daily (
    owner_id          TEXT NOT NULL,
    day               TEXT NOT NULL,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (owner_id, day)
);
