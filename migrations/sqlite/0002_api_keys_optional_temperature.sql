-- Issue 15. A bot's temperature becomes optional (NULL: nothing is sent upstream,
-- because gpt-5 and o-series models refuse the field), and personal API keys.
--
-- SQLite cannot drop NOT NULL in place, so `bots` is rebuilt. No table references
-- `bots`, so this is safe inside the migration's transaction. Bots still holding
-- the old default (exactly 0.7, which only the server ever wrote: values chosen in
-- the UI arrive as 32-bit floats) become unset; chosen values are kept.

CREATE TABLE bots_new (
    id              TEXT PRIMARY KEY,
    owner_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    system_prompt   TEXT NOT NULL DEFAULT '',
    model           TEXT NOT NULL,
    temperature     REAL,
    greeting        TEXT NOT NULL DEFAULT '',
    widget_enabled  INTEGER NOT NULL DEFAULT 0,
    public_key      TEXT NOT NULL UNIQUE,
    allowed_origins TEXT NOT NULL DEFAULT '[]',
    theme           TEXT NOT NULL DEFAULT '{}',
    is_default      INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
INSERT INTO bots_new (id, owner_id, name, system_prompt, model, temperature, greeting, widget_enabled,
                      public_key, allowed_origins, theme, is_default, created_at, updated_at)
SELECT id, owner_id, name, system_prompt, model,
       CASE WHEN temperature = 0.7 THEN NULL ELSE temperature END,
       greeting, widget_enabled, public_key, allowed_origins, theme, is_default, created_at, updated_at
FROM bots;
DROP TABLE bots;
ALTER TABLE bots_new RENAME TO bots;
CREATE INDEX bots_owner ON bots (owner_id, created_at);
CREATE UNIQUE INDEX bots_one_default ON bots (owner_id) WHERE is_default = 1;

-- Personal API keys (contract §10). Only the SHA-256 of a key is kept (hex);
-- keys are 256 random bits, so a fast hash is enough. Revoking deletes the row.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX api_keys_user ON api_keys (user_id, created_at);
