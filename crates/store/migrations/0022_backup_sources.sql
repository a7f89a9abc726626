-- Backups of snapshots, backup metadata (Cinder 3.43), the time the data
-- is from, and what a restore gives the volume besides its bytes.
ALTER TABLE backups ADD COLUMN snapshot_id TEXT;
ALTER TABLE backups ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE backups ADD COLUMN data_timestamp TEXT;
ALTER TABLE backups ADD COLUMN volume_source TEXT NOT NULL DEFAULT '{}';
