-- The repository snapshots in effect at run $1: per repository of that run (for an --only run,
-- also those of the newest full run before it), its newest audited snapshot at or before the run.
-- A repository that failed that night is judged on its last audited commit, not dropped. The
-- evaluation's copies of the git fact views keep the rows of these (run_id, repo) pairs only.
CREATE OR REPLACE TABLE hullcheck_eval.main.scope_git AS
WITH target AS (SELECT run_id, effective_at, only_repos FROM runs WHERE run_id = $1),
last_full AS (
    SELECT max(r.run_id) AS run_id FROM runs r, target t
    WHERE r.status IN ('ok', 'partial') AND r.only_repos IS NULL AND r.effective_at <= t.effective_at
),
scope AS (
    SELECT repo FROM repo_snapshots WHERE run_id = $1
    UNION
    SELECT s.repo FROM repo_snapshots s, target t, last_full f
    WHERE t.only_repos IS NOT NULL AND s.run_id = f.run_id
)
SELECT s.repo, s.run_id, s.commit_sha, s.url
FROM repo_snapshots s, target t
WHERE s.repo IN (SELECT repo FROM scope)
  AND s.status IN ('extracted', 'unchanged')
  AND (s.effective_at < t.effective_at OR (s.effective_at = t.effective_at AND s.run_id <= t.run_id))
QUALIFY row_number() OVER (PARTITION BY s.repo ORDER BY s.effective_at DESC, s.run_id DESC) = 1
ORDER BY s.repo;
