-- The image tags in effect at run $1: per registry (or layout), the tags its newest successful
-- read at or before the run listed, with the labels that decide ownership (first platform image).
WITH target AS (SELECT run_id, effective_at FROM runs WHERE run_id = $1),
reads AS (
    SELECT i.registry, i.run_id, i.effective_at FROM images i, target t
    WHERE i.status IN ('new', 'known')
      AND (i.effective_at < t.effective_at OR (i.effective_at = t.effective_at AND i.run_id <= t.run_id))
),
reg_run AS (SELECT registry, arg_max(run_id, effective_at) AS run_id FROM reads GROUP BY registry)
SELECT i.registry, i.repository, i.tag, i.digest, i.run_id,
       (SELECT list_filter(m.labels, lambda x: x."key" = 'org.hullcheck.team')[1]."value" FROM image_manifests m
        WHERE m.run_id = i.run_id AND m.registry = i.registry AND m.repository = i.repository AND m.tag = i.tag
        ORDER BY m.manifest_digest LIMIT 1) AS label_team,
       (SELECT list_filter(m.labels, lambda x: x."key" = 'org.hullcheck.profile')[1]."value" FROM image_manifests m
        WHERE m.run_id = i.run_id AND m.registry = i.registry AND m.repository = i.repository AND m.tag = i.tag
        ORDER BY m.manifest_digest LIMIT 1) AS label_profile,
       (SELECT l.git_repo FROM image_lineage l
        WHERE l.run_id = i.run_id AND l.registry = i.registry AND l.repository = i.repository AND l.tag = i.tag
          AND l.git_repo IS NOT NULL
        ORDER BY l.manifest_digest LIMIT 1) AS lineage_repo
FROM images i JOIN reg_run USING (registry, run_id)
WHERE i.status IN ('new', 'known')
ORDER BY i.registry, i.repository, i.tag;
