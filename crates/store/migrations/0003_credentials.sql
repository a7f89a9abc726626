-- Access keys (AK/SK) for Huawei SDK-HMAC-SHA256 request signing.
--
-- The secret key is stored as issued, not hashed: verifying an HMAC
-- signature needs the key itself (docs/DECISIONS.md). Deleting a user
-- deletes their keys.

CREATE TABLE credentials (
    access_key    TEXT PRIMARY KEY CHECK (length(access_key) = 20),
    secret_key    TEXT NOT NULL CHECK (length(secret_key) = 40),
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    description   TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at    TEXT NOT NULL,
    last_use_time TEXT
);
CREATE INDEX credentials_user ON credentials (user_id);
