-- The image tags in effect at run $1: per registry (or layout), the tags its newest successful
-- read at or before the run listed. The evaluation's copies of the image fact views keep these.
CREATE OR REPLACE TABLE hullcheck_eval.main.scope_images AS
WITH target AS (SELECT run_id, effective_at FROM runs WHERE run_id = $1),
reads AS (
    SELECT i.registry, i.run_id, i.effective_at FROM images i, target t
    WHERE i.status IN ('new', 'known')
      AND (i.effective_at < t.effective_at OR (i.effective_at = t.effective_at AND i.run_id <= t.run_id))
),
reg_run AS (SELECT registry, arg_max(run_id, effective_at) AS run_id FROM reads GROUP BY registry)
SELECT i.registry, i.repository, i.tag, i.digest, i.run_id
FROM images i JOIN reg_run USING (registry, run_id)
WHERE i.status IN ('new', 'known');
