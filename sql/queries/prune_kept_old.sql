-- Runs older than the cutoff ($1) that prune keeps: the newest committed one, and those a latest_*
-- view rests on.
SELECT run_id FROM audit_runs
WHERE coalesce(as_of, started_at) < $1 AND run_id NOT IN (SELECT run_id FROM prune_runs)
ORDER BY run_id;
