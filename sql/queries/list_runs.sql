-- `hullcheck runs`: the newest runs first. Parameter: how many.
SELECT run_id, status, started_at, duration, as_of, repos_total, repos_extracted, repos_unchanged,
       repos_failed, message
FROM runs
ORDER BY run_id DESC
LIMIT ?;
