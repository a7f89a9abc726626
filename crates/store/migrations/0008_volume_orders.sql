-- The order of a yearly/monthly volume is a column, not the metadata key
-- `orderID` (which the APIs still show it as).
ALTER TABLE volumes ADD COLUMN order_id TEXT;
UPDATE volumes SET order_id = (
    SELECT value FROM volume_metadata m WHERE m.volume_id = volumes.id AND m.key = 'orderID'
);
DELETE FROM volume_metadata WHERE key = 'orderID';
