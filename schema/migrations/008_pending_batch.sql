-- 008: a push batch marks its creates pending with one row holding the
-- batch's people, committed before it calls the CRM, and deletes that row
-- with its results. A row per person cost an insert and a delete of every
-- created person (185,000 of each at 100k people, about 1.5 s of the
-- database's CPU). A row left behind belongs to a batch that never recorded
-- its results: the next batch that claims one of its people turns it into
-- crmsync_pending_create rows, which keep their meaning. person_min and
-- person_max bound person_ids: the look for such rows compares the arrays of
-- only the rows whose bounds meet the claim's (an array overlap compares
-- every pair of elements, and reads the arrays out of line).
CREATE TABLE IF NOT EXISTS crmsync_pending_batch (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection_id smallint NOT NULL,
    person_min    bigint NOT NULL,
    person_max    bigint NOT NULL,
    person_ids    bigint[] NOT NULL,
    attempted_at  timestamptz NOT NULL DEFAULT now()
);
