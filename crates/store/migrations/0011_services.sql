-- What operators set on services (Cinder os-services): a disabled volume
-- service gets no new volumes. Services not listed are enabled.
CREATE TABLE service_states (
    host            TEXT NOT NULL,
    binary          TEXT NOT NULL,
    disabled        INTEGER NOT NULL DEFAULT 0,
    disabled_reason TEXT,
    frozen          INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (host, binary)
);
