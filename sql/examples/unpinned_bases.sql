-- Which images float: final stages whose base image has no digest and no tag, or the tag `latest`?
-- Latest audit. A final stage built FROM an earlier stage is followed down to the external
-- image that chain starts from (`via_stage` = true then). Stages whose base could not be
-- resolved (base_kind = 'unresolved') or that start FROM scratch are not listed.
-- Run: hullcheck sql -c hullcheck.yaml -f sql/examples/unpinned_bases.sql
WITH RECURSIVE
    stages AS MATERIALIZED (
        SELECT run_id, repo, path, stage_index, is_final, base_kind, base_stage_index,
               base_as_written, base_normalized, base_tag, base_digest
        FROM latest_dockerfile_stages
    ),
    chain AS (
        SELECT run_id, repo, path, stage_index AS final_stage_index, base_kind, base_stage_index,
               base_as_written, base_normalized, base_tag, base_digest, false AS via_stage
        FROM stages
        WHERE is_final
        UNION ALL
        SELECT c.run_id, c.repo, c.path, c.final_stage_index, s.base_kind, s.base_stage_index,
               s.base_as_written, s.base_normalized, s.base_tag, s.base_digest, true AS via_stage
        FROM chain c
        JOIN stages s
          ON s.run_id = c.run_id AND s.repo = c.repo AND s.path = c.path AND s.stage_index = c.base_stage_index
        WHERE c.base_kind = 'stage'
    )
SELECT
    repo,
    path,
    final_stage_index,
    base_as_written,
    base_normalized AS base_image,
    base_tag,
    via_stage
FROM chain
WHERE base_kind = 'image'
  AND base_digest IS NULL
  AND (base_tag IS NULL OR base_tag = 'latest')
ORDER BY repo, path;
