-- Generic volume groups (Cinder 3.11+): group types, groups of volumes of
-- one project and one pool, and group snapshots, whose members are
-- ordinary snapshot rows naming them. (`volume_groups`: GROUPS is a
-- keyword of window functions.)
CREATE TABLE group_types (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    is_public   INTEGER NOT NULL DEFAULT 1,
    group_specs TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL
);

CREATE TABLE volume_groups (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    name              TEXT,
    description       TEXT,
    availability_zone TEXT NOT NULL,
    group_type_id     TEXT NOT NULL REFERENCES group_types(id),
    status            TEXT NOT NULL,
    group_snapshot_id TEXT,
    source_group_id   TEXT,
    pool              TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT
);
CREATE INDEX volume_groups_project ON volume_groups (project_id, created_at);

-- The volume types a group's volumes may have, in the order given.
CREATE TABLE group_volume_types (
    group_id       TEXT NOT NULL REFERENCES volume_groups(id) ON DELETE CASCADE,
    volume_type_id TEXT NOT NULL REFERENCES volume_types(id),
    seq            INTEGER NOT NULL,
    PRIMARY KEY (group_id, volume_type_id)
);

CREATE TABLE group_snapshots (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    group_id      TEXT NOT NULL REFERENCES volume_groups(id),
    group_type_id TEXT NOT NULL,
    name          TEXT,
    description   TEXT,
    status        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT
);
CREATE INDEX group_snapshots_project ON group_snapshots (project_id, created_at);
CREATE INDEX group_snapshots_group ON group_snapshots (group_id);

ALTER TABLE volumes ADD COLUMN group_id TEXT REFERENCES volume_groups(id);
CREATE INDEX volumes_group ON volumes (group_id);
ALTER TABLE snapshots ADD COLUMN group_snapshot_id TEXT REFERENCES group_snapshots(id);
CREATE INDEX snapshots_group_snapshot ON snapshots (group_snapshot_id);
