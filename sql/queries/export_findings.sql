-- `hullcheck export`: the findings of one run ($1; NULL: the newest evaluated run) with their
-- state against the evaluated run before it (by effective_at, as finding_events orders runs):
-- `new` (fingerprint not in the previous run), `unchanged` (in both), and the previous run's
-- findings gone now as `absent`; NULL when the run has no previous run to compare with.
-- $2: only this team (NULL: all); $3: only this repository (NULL: all; image findings have none).
WITH seq AS (
    SELECT run_id, lag(run_id) OVER (ORDER BY effective_at, run_id) AS previous_run_id
    FROM current_evaluations
),
chosen AS (
    SELECT run_id, previous_run_id FROM seq
    WHERE run_id = coalesce($1::BIGINT, (SELECT run_id FROM latest_evaluation))
),
cur AS (
    SELECT f.* FROM findings f JOIN chosen c USING (run_id)
    WHERE ($2::VARCHAR IS NULL OR f.team = $2) AND ($3::VARCHAR IS NULL OR f.repo = $3)
),
prev AS (
    SELECT f.* FROM findings f JOIN chosen c ON f.run_id = c.previous_run_id
    WHERE ($2::VARCHAR IS NULL OR f.team = $2) AND ($3::VARCHAR IS NULL OR f.repo = $3)
)
SELECT cur.*,
       CASE WHEN (SELECT previous_run_id FROM chosen) IS NULL THEN NULL
            WHEN cur.fingerprint IN (SELECT fingerprint FROM prev) THEN 'unchanged'
            ELSE 'new' END AS baseline_state
FROM cur
UNION ALL BY NAME
SELECT prev.*, 'absent' AS baseline_state
FROM prev
WHERE prev.fingerprint NOT IN (SELECT fingerprint FROM cur)
ORDER BY baseline_state = 'absent', repo NULLS LAST, path, line NULLS FIRST, policy_id, fingerprint;
