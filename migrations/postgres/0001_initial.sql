-- Brook's schema on PostgreSQL. Times are microseconds since the Unix epoch (BIGINT)
-- and flags 0/1, so that both backends share one set of queries and row types.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT UNIQUE,
    name          TEXT,
    role          TEXT NOT NULL CHECK (role IN ('user', 'guest', 'visitor')),
    password_hash TEXT,
    bot_id        TEXT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

CREATE TABLE bots (
    id              TEXT PRIMARY KEY,
    owner_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    system_prompt   TEXT NOT NULL DEFAULT '',
    model           TEXT NOT NULL,
    temperature     DOUBLE PRECISION NOT NULL,
    greeting        TEXT NOT NULL DEFAULT '',
    widget_enabled  BIGINT NOT NULL DEFAULT 0,
    public_key      TEXT NOT NULL UNIQUE,
    allowed_origins TEXT NOT NULL DEFAULT '[]',
    theme           TEXT NOT NULL DEFAULT '{}',
    is_default      BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX bots_owner ON bots (owner_id, created_at);
CREATE UNIQUE INDEX bots_one_default ON bots (owner_id) WHERE is_default = 1;

CREATE TABLE conversations (
    owner_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id                   TEXT NOT NULL,
    bot_id               TEXT NOT NULL,
    title                TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    last_message_preview TEXT,
    PRIMARY KEY (owner_id, id)
);
CREATE INDEX conversations_recent ON conversations (owner_id, updated_at DESC, id DESC);
CREATE INDEX conversations_bot ON conversations (bot_id, updated_at DESC, id DESC);

CREATE TABLE messages (
    pos             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    owner_id        TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content         TEXT NOT NULL,
    status          TEXT NOT NULL,
    client_id       TEXT,
    reply_id        TEXT,
    in_reply_to     TEXT,
    superseded      BIGINT NOT NULL DEFAULT 0,
    seq             BIGINT NOT NULL DEFAULT 0,
    metadata        TEXT NOT NULL DEFAULT '{}',
    created_at      BIGINT NOT NULL,
    finished_at     BIGINT,
    FOREIGN KEY (owner_id, conversation_id) REFERENCES conversations (owner_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX messages_client_id ON messages (owner_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX messages_page ON messages (owner_id, conversation_id, pos);
CREATE INDEX messages_live ON messages (status) WHERE status IN ('queued', 'streaming');
CREATE INDEX messages_versions ON messages (in_reply_to, pos) WHERE in_reply_to IS NOT NULL;
-- Full-text search; queries use the identical expression so the index applies.
CREATE INDEX messages_fts ON messages USING GIN (to_tsvector('simple', content));

CREATE TABLE usage_daily (
    owner_id          TEXT NOT NULL,
    day               TEXT NOT NULL,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (owner_id, day)
);
