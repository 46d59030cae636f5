-- root-user: the final stage of a Dockerfile, or an image's config, runs as root.
-- A USER set in the stage (or an earlier stage it builds on) decides; without one, the base
-- decides: an audited image or an org build whose user is known, scratch (uid 0), or unknown.
WITH df AS (
    SELECT o.subject_id, o.situation, b.final_user, b.base_source, b.base_image, b.base_known_as, b.base_user,
           b.stage_name, b.stage_index, b.start_line AS from_line, u.user_line
    FROM subjects o
    JOIN stage_bases b ON b.run_id = o.run_id AND b.repo = o.repo AND b.path = o.path AND b.is_final
    LEFT JOIN (
        SELECT i.run_id, i.repo, i.path, i.stage_index, max(i.start_line) AS user_line
        FROM dockerfile_instructions i
        SEMI JOIN subjects o ON o.subject_kind = 'dockerfile' AND o.run_id = i.run_id AND o.repo = i.repo
                            AND o.path = i.path
        WHERE i.keyword = 'USER'
        GROUP BY ALL
    ) u ON u.run_id = b.run_id AND u.repo = b.repo AND u.path = b.path AND u.stage_index = b.stage_index
    WHERE o.subject_kind = 'dockerfile'
),
judged AS (
    SELECT *,
           CASE
               WHEN final_user IS NOT NULL THEN
                   CASE WHEN regexp_matches(lower(final_user), '^(root|0)(:.*)?$') THEN 'explicit root' END
               WHEN base_source = 'scratch' THEN 'scratch base, no USER: uid 0'
               WHEN base_source IN ('audited image', 'org build') THEN
                   CASE WHEN coalesce(base_user, '') = '' OR regexp_matches(lower(base_user), '^(root|0)(:.*)?$')
                        THEN 'inherited root' END
               ELSE 'base unknown'
           END AS why
    FROM df
)
SELECT j.subject_id,
       CASE WHEN j.why = 'base unknown' THEN p.base_unknown_severity ELSE p.severity END AS severity,
       CASE j.why
           WHEN 'explicit root' THEN format('the final stage sets USER {}: the container runs as root', j.final_user)
           WHEN 'scratch base, no USER: uid 0' THEN 'the final stage builds on scratch and sets no USER: it runs as uid 0'
           WHEN 'inherited root' THEN format('the final stage sets no USER and its base {} runs as root',
                                             j.base_known_as)
           ELSE format('the final stage sets no USER and nothing is known of its base {} (base unknown): '
                       || 'it most likely runs as root', coalesce(j.base_image, '(unresolved)'))
       END AS message,
       {'final_user': j.final_user, 'base': j.base_image, 'base_source': j.base_source,
        'base_known_as': j.base_known_as, 'base_user': j.base_user, 'why': j.why} AS evidence,
       coalesce(CASE WHEN j.why = 'explicit root' THEN j.user_line END, j.from_line) AS line,
       coalesce(j.stage_name, j.stage_index::VARCHAR) AS stage,
       NULL AS key
FROM judged j
JOIN params p USING (situation)
WHERE j.why IS NOT NULL
UNION ALL
SELECT o.subject_id, p.severity,
       format('{} runs as {} ({}/{})', o.subject,
              CASE WHEN coalesce(m."user", '') = '' THEN 'root (no User in its config)' ELSE m."user" END,
              m.os, m.architecture) AS message,
       {'final_user': m."user", 'base': NULL, 'base_source': 'image config', 'base_known_as': NULL,
        'base_user': NULL, 'why': 'image config'} AS evidence,
       NULL AS line, NULL AS stage, NULL AS key
FROM subjects o
JOIN params p USING (situation)
JOIN image_manifests m
  ON m.run_id = o.run_id AND m.registry = o.registry AND m.repository = o.repository AND m.tag = o.tag
WHERE o.subject_kind = 'image'
  AND (coalesce(m."user", '') = '' OR regexp_matches(lower(m."user"), '^(root|0)(:.*)?$'))
QUALIFY row_number() OVER (PARTITION BY o.subject_id ORDER BY m.manifest_digest) = 1;
