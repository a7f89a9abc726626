-- EVS: enterprise projects, tags, grouped jobs, orders (yearly/monthly
-- billing as records), idempotency keys.

ALTER TABLE volumes ADD COLUMN enterprise_project_id TEXT NOT NULL DEFAULT '0';
ALTER TABLE snapshots ADD COLUMN enterprise_project_id TEXT NOT NULL DEFAULT '0';
ALTER TABLE snapshots ADD COLUMN instant_access INTEGER NOT NULL DEFAULT 0;

CREATE TABLE volume_tags (
    volume_id TEXT NOT NULL REFERENCES volumes(id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (volume_id, key)
);
CREATE INDEX volume_tags_key ON volume_tags (key, value);

CREATE TABLE snapshot_tags (
    snapshot_id TEXT NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, key)
);

-- A job that groups others (a batch create, a batch extend): its status is
-- derived from its members', which carry its id in `parent_id`.
ALTER TABLE jobs ADD COLUMN parent_id TEXT;
CREATE INDEX jobs_parent ON jobs (parent_id) WHERE parent_id IS NOT NULL;
CREATE TABLE job_groups (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    project_id TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Orders of yearly/monthly (prePaid) resources. There is no payment
-- system: an order is a record, paid when it is placed.
CREATE TABLE orders (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL,
    action       TEXT NOT NULL,
    resource_ids TEXT NOT NULL DEFAULT '[]',
    params       TEXT NOT NULL DEFAULT '{}',
    job_id       TEXT,
    created_at   TEXT NOT NULL
);

-- X-Client-Token: a retried create returns the first response. A token
-- names one request, whatever the project: reusing it elsewhere conflicts.
CREATE TABLE idempotency_keys (
    token       TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER,
    response    TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
