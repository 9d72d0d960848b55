-- 007: crmsync_person_live indexed the IDs of people not merged away, which
-- is nearly every row: a second copy of the primary key that every insert
-- and every non-HOT update of a person maintained, inside the ingest lock.
-- The queries that filter on merged_into IS NULL walk the primary key.
DROP INDEX IF EXISTS crmsync_person_live;
