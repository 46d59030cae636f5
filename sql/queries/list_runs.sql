-- `hullcheck runs`: the newest runs first, by the moment they audited (an --as-of backfill run sits
-- at its moment, not at the day it was made). Parameter $1: how many. Every run is listed, whatever
-- its status (a failed run is the operator's business); counts of images come from the run's own
-- registry observations, findings from its newest evaluation.
WITH images AS (
    SELECT run_id,
           count(DISTINCT registry) AS registries,
           count(DISTINCT registry || '/' || repository) FILTER (repository IS NOT NULL) AS image_repos,
           count(*) FILTER (tag IS NOT NULL AND status <> 'failed') AS tags,
           count(*) FILTER (status = 'new') AS new_digests,
           count(*) FILTER (status = 'failed') AS image_failures
    FROM registry_snapshots
    GROUP BY run_id
),
evaluated AS (
    SELECT run_id, arg_max(findings, evaluation_id) AS findings, arg_max(errors, evaluation_id) AS policy_errors
    FROM policy_evaluations WHERE findings IS NOT NULL
    GROUP BY run_id
)
SELECT r.run_id, r.status, r.effective_at, r.as_of, r.only_repos, r.started_at, r.duration,
       r.repos_total, r.repos_extracted, r.repos_unchanged, r.repos_failed,
       coalesce(i.registries, 0) AS registries, coalesce(i.image_repos, 0) AS image_repos,
       coalesce(i.tags, 0) AS tags, coalesce(i.new_digests, 0) AS new_digests,
       coalesce(i.image_failures, 0) AS image_failures,
       e.findings, e.policy_errors, r.message
FROM runs r
LEFT JOIN images i USING (run_id)
LEFT JOIN evaluated e USING (run_id)
ORDER BY r.effective_at DESC, r.run_id DESC
LIMIT $1;
