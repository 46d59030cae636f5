-- `hullcheck export`: the run exported ($1; NULL: the newest evaluated run) and the evaluated run before it.
WITH seq AS (
    SELECT *, lag(run_id) OVER (ORDER BY effective_at, run_id) AS previous_run_id FROM current_evaluations
)
SELECT run_id, effective_at, evaluation_id, previous_run_id, catalog_version, config_hash, tool_version
FROM seq
WHERE run_id = coalesce($1::BIGINT, (SELECT run_id FROM latest_evaluation));
