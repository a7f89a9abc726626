-- Where the last move of a volume's data to another pool stands (Cinder's
-- migration_status): migrating, success, error; NULL if never moved.
ALTER TABLE volumes ADD COLUMN migration_status TEXT;
