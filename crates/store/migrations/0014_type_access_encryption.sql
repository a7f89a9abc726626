-- Projects given access to private volume types, and types' encryption
-- specs (recorded; Platter does not encrypt).
CREATE TABLE volume_type_access (
    volume_type_id TEXT NOT NULL REFERENCES volume_types(id) ON DELETE CASCADE,
    project_id     TEXT NOT NULL,
    PRIMARY KEY (volume_type_id, project_id)
);
CREATE TABLE volume_type_encryption (
    volume_type_id   TEXT PRIMARY KEY REFERENCES volume_types(id) ON DELETE CASCADE,
    encryption_id    TEXT NOT NULL,
    provider         TEXT NOT NULL,
    cipher           TEXT,
    key_size         INTEGER,
    control_location TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT
);
-- Whether a type has an encryption spec, kept with the type's row so that
-- reading the type says it.
ALTER TABLE volume_types ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0;
