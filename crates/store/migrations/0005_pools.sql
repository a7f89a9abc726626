-- Pools: several backends in one server. A volume records the pool holding
-- its data (its snapshots live there too). Volumes from before pools live
-- in the one pool a server had, named 'pool'.

ALTER TABLE volumes ADD COLUMN pool TEXT NOT NULL DEFAULT 'pool';
