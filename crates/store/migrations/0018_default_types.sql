-- The default volume type of a project (Cinder 3.62): what a volume created
-- there without a type gets, instead of the configured default.
CREATE TABLE project_default_types (
    project_id     TEXT PRIMARY KEY,
    volume_type_id TEXT NOT NULL REFERENCES volume_types(id)
);
