-- 002: an index on merged_into. A merge repoints the people merged into the
-- merged-away person (`WHERE id = $2 OR merged_into = $2`); without it every
-- merge scanned the whole person table, which made a full resync's merges
-- grow with the store.
CREATE INDEX crmsync_person_merged_into ON crmsync_person (merged_into) WHERE merged_into IS NOT NULL;
