-- Store seam: two things the SQL needs to stay correct on a database other
-- than SQLite.

-- Quota locks. A quota check counts usage from the resource rows and then
-- inserts; that is exact only if no other transaction of the same project
-- can count and insert in between. SQLite guarantees it by having a single
-- writer; a database with concurrent writers does not, so every
-- quota-checking transaction first updates its project's row here (on
-- PostgreSQL: SELECT ... FOR UPDATE), which serialises the quota checks of
-- one project and nothing else.
CREATE TABLE quota_locks (
    project_id TEXT PRIMARY KEY,
    version    INTEGER NOT NULL DEFAULT 0
);

-- The order of a job group's members is their order of creation: an
-- explicit column rather than the storage order of the rows. Existing
-- members keep the order they had (this backfill is the one use of SQLite's
-- implicit row id; new rows number themselves in their insert).
ALTER TABLE jobs ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET seq = rowid WHERE parent_id IS NOT NULL;
