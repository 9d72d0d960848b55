-- 003: no foreign keys on the hot tables. Every row written to a link, an
-- identity, the push queue, a pending create, a write outcome or the
-- history checked its connection and person with a FOR KEY SHARE row lock;
-- with many push and ingest batches at once, the four connection rows and
-- the people being written became shared-lock hot spots (multixacts), and
-- the checks were a third of the statements Postgres ran during a resync.
-- The engine is the only writer of these tables; connections are never
-- deleted and people never are either (a merged person keeps its row with
-- merged_into set), so the references stay valid without the checks.
ALTER TABLE crmsync_identity       DROP CONSTRAINT IF EXISTS crmsync_identity_person_id_fkey;
ALTER TABLE crmsync_link           DROP CONSTRAINT IF EXISTS crmsync_link_connection_id_fkey;
ALTER TABLE crmsync_link           DROP CONSTRAINT IF EXISTS crmsync_link_person_id_fkey;
ALTER TABLE crmsync_push_queue     DROP CONSTRAINT IF EXISTS crmsync_push_queue_connection_id_fkey;
ALTER TABLE crmsync_pending_create DROP CONSTRAINT IF EXISTS crmsync_pending_create_connection_id_fkey;
ALTER TABLE crmsync_pending_create DROP CONSTRAINT IF EXISTS crmsync_pending_create_person_id_fkey;
ALTER TABLE crmsync_write_outcome  DROP CONSTRAINT IF EXISTS crmsync_write_outcome_connection_id_fkey;
ALTER TABLE crmsync_change         DROP CONSTRAINT IF EXISTS crmsync_change_connection_id_fkey;
