-- Issue 15. A bot's temperature becomes optional (NULL: nothing is sent upstream,
-- because gpt-5 and o-series models refuse the field), and personal API keys.
-- Bots still holding the old default (exactly 0.7, which only the server ever
-- wrote: values chosen in the UI arrive as 32-bit floats) become unset.

ALTER TABLE bots ALTER COLUMN temperature DROP NOT NULL;
UPDATE bots SET temperature = NULL WHERE temperature = 0.7;

-- Personal API keys (contract §10). Only the SHA-256 of a key is kept (hex);
-- keys are 256 random bits, so a fast hash is enough. Revoking deletes the row.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX api_keys_user ON api_keys (user_id, created_at);
