-- The progress a client reported with os-update_snapshot_status.
ALTER TABLE snapshots ADD COLUMN progress TEXT;
