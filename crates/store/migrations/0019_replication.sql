-- Replicated volumes (Cinder's replication v1): where the replica stands
-- (disabled, copying, active, inactive, error) and the pool holding it.
ALTER TABLE volumes ADD COLUMN replication_status TEXT NOT NULL DEFAULT 'disabled';
ALTER TABLE volumes ADD COLUMN replica_pool TEXT;
