-- 005: how far a resync run has planned its pushes. The run queues its
-- people in steps, each within its job's timeout, and a step starts where
-- the last one ended: the highest person ID planned so far (NULL before
-- the first step).
ALTER TABLE crmsync_resync_run ADD COLUMN queued_through bigint;
