-- Volume transfers: an offer of a volume to whichever project presents the
-- secret key. Only the key's salted hash is kept. A transfer goes with its
-- volume.
CREATE TABLE transfers (
    id                TEXT PRIMARY KEY,
    volume_id         TEXT NOT NULL REFERENCES volumes(id) ON DELETE CASCADE,
    source_project_id TEXT NOT NULL,
    name              TEXT,
    no_snapshots      INTEGER NOT NULL DEFAULT 0,
    salt              TEXT NOT NULL,
    crypt_hash        TEXT NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE INDEX transfers_project ON transfers (source_project_id, created_at);
CREATE UNIQUE INDEX transfers_volume ON transfers (volume_id);
