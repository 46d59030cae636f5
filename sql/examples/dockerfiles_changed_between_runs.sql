-- Which Dockerfiles changed between the two newest committed full audits?
-- "Newest" by effective_at (as_of for backfills, else started_at); only runs with status ok or
-- partial and no --only filter count. change is 'added', 'removed' or 'changed' (other blob).
-- Repositories that failed in either run are left out: a failure is not a removal.
-- Run: hullcheck sql -c hullcheck.yaml -f sql/examples/dockerfiles_changed_between_runs.sql
WITH
    two AS (
        SELECT run_id, row_number() OVER (ORDER BY effective_at DESC, run_id DESC) AS n
        FROM runs
        WHERE status IN ('ok', 'partial') AND only_repos IS NULL
        QUALIFY n <= 2
    ),
    new_run AS (SELECT run_id FROM two WHERE n = 1),
    old_run AS (SELECT run_id FROM two WHERE n = 2),
    failed AS (
        SELECT DISTINCT repo FROM repo_snapshots
        WHERE status = 'failed' AND run_id IN (SELECT run_id FROM two)
    ),
    old AS (SELECT * FROM dockerfiles WHERE run_id = (SELECT run_id FROM old_run)),
    new AS (SELECT * FROM dockerfiles WHERE run_id = (SELECT run_id FROM new_run))
SELECT
    coalesce(new.repo, old.repo) AS repo,
    coalesce(new.path, old.path) AS path,
    CASE WHEN old.path IS NULL THEN 'added' WHEN new.path IS NULL THEN 'removed' ELSE 'changed' END AS change,
    old.blob_sha AS old_blob_sha,
    new.blob_sha AS new_blob_sha,
    old.commit_sha AS old_commit_sha,
    new.commit_sha AS new_commit_sha,
    (SELECT run_id FROM old_run) AS old_run_id,
    (SELECT run_id FROM new_run) AS new_run_id
FROM old
FULL OUTER JOIN new ON new.repo = old.repo AND new.path = old.path
WHERE old.blob_sha IS DISTINCT FROM new.blob_sha
  AND coalesce(new.repo, old.repo) NOT IN (SELECT repo FROM failed)
ORDER BY repo, path;
