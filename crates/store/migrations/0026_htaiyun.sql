-- The htaiyun volume API (seed 004): the platform's UserVolume records, with
-- their integer ids, wrapping Platter volumes; and each project's
-- application access token (HT-ACCESS-TOKEN), stored by its SHA-256.

CREATE TABLE user_volumes (
    unique_id  INTEGER PRIMARY KEY,
    volume_id  TEXT NOT NULL UNIQUE,
    project_id TEXT NOT NULL,
    owner      INTEGER,
    enabled    INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX user_volumes_project ON user_volumes (project_id);

CREATE TABLE htaiyun_app_tokens (
    project_id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
