-- Issue 14, contract §9: people in the loop. See the SQLite twin for the why;
-- the columns are the same.

ALTER TABLE conversations ADD COLUMN mode TEXT NOT NULL DEFAULT 'ai' CHECK (mode IN ('ai', 'human'));
ALTER TABLE conversations ADD COLUMN owner_read_pos BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN operator_read_pos BIGINT NOT NULL DEFAULT 0;
UPDATE conversations c SET
    owner_read_pos = COALESCE((SELECT MAX(m.pos) FROM messages m
                               WHERE m.owner_id = c.owner_id AND m.conversation_id = c.id), 0),
    operator_read_pos = COALESCE((SELECT MAX(m.pos) FROM messages m
                                  WHERE m.owner_id = c.owner_id AND m.conversation_id = c.id), 0);

ALTER TABLE messages DROP CONSTRAINT messages_role_check;
ALTER TABLE messages ADD CONSTRAINT messages_role_check CHECK (role IN ('user', 'assistant', 'operator'));
ALTER TABLE messages ADD COLUMN read_at BIGINT;
ALTER TABLE messages ADD COLUMN feedback TEXT;
