-- The flavor a resize not yet confirmed can be reverted to.
ALTER TABLE servers ADD COLUMN old_flavor TEXT;
