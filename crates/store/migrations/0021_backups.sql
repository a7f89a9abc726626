-- Cinder backups: the rows; their data is in the backup repository.
CREATE TABLE backups (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    volume_id         TEXT NOT NULL,
    name              TEXT,
    description       TEXT,
    status            TEXT NOT NULL,
    size              INTEGER NOT NULL,
    availability_zone TEXT NOT NULL,
    parent_id         TEXT,
    object_count      INTEGER NOT NULL DEFAULT 0,
    fail_reason       TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT
);
CREATE INDEX backups_project ON backups (project_id);
CREATE INDEX backups_volume ON backups (volume_id);
