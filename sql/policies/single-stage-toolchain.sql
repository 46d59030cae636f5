-- single-stage-toolchain: the final stage (with the stages it builds on) installs a toolchain, or
-- builds on an SDK image or an audited base whose layer scan found compilers, and copies nothing
-- from another stage: there is no build stage, so the toolchain ships.
WITH chain AS (  -- the final stage and the stages it builds on
    SELECT o.subject_id, o.situation, s.run_id, s.repo, s.path, s.stage_index, s.base_kind, s.base_stage_index
    FROM subjects o
    JOIN dockerfile_shipped_stages h ON h.run_id = o.run_id AND h.repo = o.repo AND h.path = o.path
    JOIN dockerfile_stages s
      ON s.run_id = h.run_id AND s.repo = h.repo AND s.path = h.path AND s.stage_index = h.stage_index
    WHERE o.subject_kind = 'dockerfile'
),
installed AS (
    SELECT c.subject_id, list(DISTINCT k.package ORDER BY k.package) AS packages, min(k.line) AS first_line
    FROM chain c
    JOIN params p USING (situation)
    JOIN dockerfile_packages k
      ON k.run_id = c.run_id AND k.repo = c.repo AND k.path = c.path AND k.stage_index = c.stage_index
    WHERE k.manager IN ('apt', 'apk', 'yum', 'dnf', 'microdnf', 'zypper')
      AND list_bool_or(list_transform(p.toolchain_packages, lambda g: k.package GLOB g))
    GROUP BY c.subject_id
),
copied AS (  -- artifacts copied from another stage: there is a build stage
    SELECT DISTINCT c.subject_id
    FROM chain c
    JOIN dockerfile_copies x
      ON x.run_id = c.run_id AND x.repo = c.repo AND x.path = c.path AND x.stage_index = c.stage_index
    WHERE x.from_stage_index IS NOT NULL
),
-- What the layer scan of an audited image found, by the name stage_bases knows it as: grouped
-- once and joined, instead of a subquery per subject.
scanned AS (
    SELECT x.registry || '/' || x.repository || ':' || x.tag AS known_as, first(x.toolchains) AS toolchains
    FROM latest_image_files_summary x
    GROUP BY ALL
),
df AS (
    SELECT o.subject_id, o.situation, b.base_image, b.base_source, b.base_known_as, b.stage_name, b.stage_index,
           root.start_line AS from_line, i.packages, i.first_line, sc.toolchains AS base_toolchains
    FROM subjects o
    JOIN stage_bases b ON b.run_id = o.run_id AND b.repo = o.repo AND b.path = o.path AND b.is_final
    JOIN dockerfile_stages root
      ON root.run_id = b.run_id AND root.repo = b.repo AND root.path = b.path AND root.stage_index = b.root_index
    LEFT JOIN installed i ON i.subject_id = o.subject_id
    LEFT JOIN scanned sc ON b.base_source = 'audited image' AND sc.known_as = b.base_known_as
    WHERE o.subject_kind = 'dockerfile' AND o.subject_id NOT IN (SELECT subject_id FROM copied)
),
judged AS (
    SELECT d.*, p.severity,
           d.base_image IS NOT NULL
               AND list_bool_or(list_transform(p.toolchain_bases, lambda g: d.base_image GLOB g)) AS sdk_base
    FROM df d
    JOIN params p USING (situation)
)
SELECT j.subject_id, j.severity,
       format('the final stage {}, and no earlier stage builds the artifact (nothing is copied --from a stage): '
              || 'the toolchain ships in the image',
              concat_ws(' and ',
                        CASE WHEN j.packages IS NOT NULL
                             THEN format('installs {} (line {})', array_to_string(j.packages, ', '), j.first_line) END,
                        CASE WHEN j.sdk_base THEN format('builds on the SDK image {}', j.base_image) END,
                        CASE WHEN len(coalesce(j.base_toolchains, [])) > 0 AND NOT j.sdk_base
                             THEN format('builds on {}, whose layer scan found {}', j.base_known_as,
                                         array_to_string(j.base_toolchains, ', ')) END)) AS message,
       {'packages': coalesce(j.packages, []), 'base': j.base_image, 'base_source': j.base_source,
        'sdk_base': j.sdk_base, 'base_toolchains': j.base_toolchains,
        'base_known': j.base_source NOT IN ('unknown', 'unresolved')} AS evidence,
       coalesce(j.first_line, j.from_line) AS line,
       coalesce(j.stage_name, j.stage_index::VARCHAR) AS stage, NULL AS key
FROM judged j
WHERE j.packages IS NOT NULL OR j.sdk_base OR len(coalesce(j.base_toolchains, [])) > 0;
