-- Runs still 'running' when a new audit starts were killed or crashed: only one process
-- can hold the database, so nobody else is writing them.
UPDATE audit_runs
SET status = 'failed',
    finished_at = coalesce(finished_at, now()),
    message = 'abandoned: the process stopped before the run finished (killed or crashed)'
WHERE status = 'running';
