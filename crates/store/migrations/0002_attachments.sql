-- Attachments (Cinder's v3 attachments and the legacy attach actions) and
-- per-volume QoS (EVS GPSSD2/ESSD2 iops and throughput).

ALTER TABLE volumes ADD COLUMN iops INTEGER;
ALTER TABLE volumes ADD COLUMN throughput INTEGER;

CREATE TABLE attachments (
    id            TEXT PRIMARY KEY,
    volume_id     TEXT NOT NULL REFERENCES volumes(id),
    project_id    TEXT NOT NULL,
    instance_uuid TEXT,
    -- The connector as the client sent it (JSON), once it sent one.
    connector     TEXT,
    host          TEXT,
    mountpoint    TEXT,
    attach_mode   TEXT NOT NULL DEFAULT 'rw',
    status        TEXT NOT NULL,
    -- The unguessable NBD export name, while the attachment has a connection.
    export_name   TEXT UNIQUE,
    created_at    TEXT NOT NULL,
    updated_at    TEXT,
    attached_at   TEXT,
    detached_at   TEXT
);
CREATE INDEX attachments_volume ON attachments (volume_id);
