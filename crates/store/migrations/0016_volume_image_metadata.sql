-- A volume's image metadata (Cinder's volume_image_metadata): what the
-- image it came from said, and what os-set_image_metadata sets.
CREATE TABLE volume_image_metadata (
    volume_id TEXT NOT NULL REFERENCES volumes(id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (volume_id, key)
);
