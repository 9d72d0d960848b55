-- 004: a link's base state is stored as the JSON text the engine writes
-- (text, not jsonb). Only the engine reads it, whole, and nothing queries
-- inside it; jsonb parsed every base written into its binary form and
-- printed it back on every read. A COPY of 200,000 link rows took 2.0 s
-- with jsonb and 1.4 s with text on the benchmark machine, and a full
-- resync writes a link for every record, under the ingest lock.
ALTER TABLE crmsync_link ALTER COLUMN base TYPE text USING base::text;
