-- Which repositories failed in their latest observation, with the error, and since when?
-- last_success_at is the newest visible observation of that repository that did not fail
-- (NULL: it never succeeded). A failed repository has no files in the latest_* views.
-- Run: hullcheck sql -c hullcheck.yaml -f sql/examples/repo_failures_latest.sql
SELECT
    l.repo,
    l.run_id,
    l.effective_at AS failed_at,
    l.error,
    (SELECT max(s.effective_at) FROM repo_snapshots s WHERE s.repo = l.repo AND s.status <> 'failed')
        AS last_success_at,
    l.url
FROM latest_repo_snapshots l
WHERE l.status = 'failed'
ORDER BY l.repo;
