-- Platter metadata, first schema. Timestamps are UTC text
-- (YYYY-MM-DDTHH:MM:SS.ffffff), booleans are 0/1 integers: portable to PostgreSQL.

CREATE TABLE domains (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL
);

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    domain_id   TEXT NOT NULL REFERENCES domains(id),
    description TEXT NOT NULL DEFAULT '',
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE users (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    domain_id          TEXT NOT NULL REFERENCES domains(id),
    password_hash      TEXT,
    default_project_id TEXT,
    email              TEXT,
    description        TEXT,
    enabled            INTEGER NOT NULL DEFAULT 1,
    created_at         TEXT NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE roles (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE role_assignments (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    role_id    TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, project_id, role_id)
);

-- Tokens are stored by the SHA-256 of their value: a leaked database does not
-- leak usable tokens.
CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id TEXT REFERENCES projects(id) ON DELETE CASCADE,
    methods    TEXT NOT NULL,
    audit_id   TEXT NOT NULL,
    issued_at  TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_expires ON tokens (expires_at);

CREATE TABLE volume_types (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    is_public   INTEGER NOT NULL DEFAULT 1,
    extra_specs TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL
);

CREATE TABLE volumes (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    name              TEXT,
    description       TEXT,
    size              INTEGER NOT NULL,
    status            TEXT NOT NULL,
    availability_zone TEXT NOT NULL,
    volume_type_id    TEXT NOT NULL REFERENCES volume_types(id),
    bootable          INTEGER NOT NULL DEFAULT 0,
    multiattach       INTEGER NOT NULL DEFAULT 0,
    readonly          INTEGER NOT NULL DEFAULT 0,
    snapshot_id       TEXT,
    source_volid      TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT
);
CREATE INDEX volumes_project ON volumes (project_id, created_at);
CREATE INDEX volumes_status ON volumes (status);

CREATE TABLE volume_metadata (
    volume_id TEXT NOT NULL REFERENCES volumes(id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (volume_id, key)
);

CREATE TABLE snapshots (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    volume_id   TEXT NOT NULL REFERENCES volumes(id),
    name        TEXT,
    description TEXT,
    size        INTEGER NOT NULL,
    status      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT
);
CREATE INDEX snapshots_project ON snapshots (project_id, created_at);
CREATE INDEX snapshots_volume ON snapshots (volume_id);

CREATE TABLE snapshot_metadata (
    snapshot_id TEXT NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, key)
);

-- Per-project quota limits that differ from the configured defaults.
CREATE TABLE quotas (
    project_id TEXT NOT NULL,
    resource   TEXT NOT NULL,
    hard_limit INTEGER NOT NULL,
    PRIMARY KEY (project_id, resource)
);

-- Durable jobs: every asynchronous operation is a row here, written in the
-- same transaction as the status change that starts it.
CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    project_id  TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    params      TEXT NOT NULL DEFAULT '{}',
    status      TEXT NOT NULL,
    step        INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    created_at  TEXT NOT NULL,
    begin_at    TEXT,
    end_at      TEXT
);
CREATE INDEX jobs_unfinished ON jobs (status) WHERE status IN ('INIT', 'RUNNING');
CREATE INDEX jobs_resource ON jobs (resource_id);
