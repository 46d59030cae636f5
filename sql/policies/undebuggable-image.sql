-- undebuggable-image: a Dockerfile whose final stage has no shell (scratch, an audited base whose
-- layer scan found none, or a base named in shell_less_bases other than a debug/dev tag) and copies
-- none in; an image whose layer scan found no shell. A note by default, a warning where the team
-- requires debuggable images.
WITH chain AS (  -- the final stage and the stages it builds on
    SELECT s.run_id, s.repo, s.path, h.final_index, s.stage_index, s.base_kind, s.base_stage_index
    FROM subjects o
    JOIN dockerfile_shipped_stages h ON h.run_id = o.run_id AND h.repo = o.repo AND h.path = o.path
    JOIN dockerfile_stages s
      ON s.run_id = h.run_id AND s.repo = h.repo AND s.path = h.path AND s.stage_index = h.stage_index
    WHERE o.subject_kind = 'dockerfile'
),
-- Per Dockerfile (run_id, repo, path), the first COPY in its final chain that brings a shell in;
-- grouped once here instead of a subquery per subject.
shell_copies AS (
    SELECT ch.run_id, ch.repo, ch.path,
           first(coalesce(c.from_image, c.from_ref, 'context') || ' ' || array_to_string(c.sources, ' '))
               AS shell_copied
    FROM chain ch
    JOIN dockerfile_copies c
      ON c.run_id = ch.run_id AND c.repo = ch.repo AND c.path = ch.path AND c.stage_index = ch.stage_index
    WHERE regexp_matches(coalesce(c.from_image, ''), '/busybox[:@]')
       OR list_bool_or(list_transform(c.sources, lambda x: regexp_matches(x, '(^|/)(busybox|sh|bash|ash|dash)$')))
    GROUP BY ch.run_id, ch.repo, ch.path
),
-- Whether the layer scan of an audited image found a shell, by the name stage_bases knows it as.
scanned AS (
    SELECT x.registry || '/' || x.repository || ':' || x.tag AS known_as, bool_or(x.has_shell) AS has_shell
    FROM latest_image_files_summary x
    GROUP BY ALL
),
df AS (
    SELECT o.subject_id, o.situation, b.base_source, b.base_image, b.base_tag, b.base_known_as, b.stage_name,
           b.stage_index, root.start_line AS from_line, sc.has_shell AS base_has_shell, cp.shell_copied
    FROM subjects o
    JOIN stage_bases b ON b.run_id = o.run_id AND b.repo = o.repo AND b.path = o.path AND b.is_final
    JOIN dockerfile_stages root
      ON root.run_id = b.run_id AND root.repo = b.repo AND root.path = b.path AND root.stage_index = b.root_index
    LEFT JOIN scanned sc ON b.base_source = 'audited image' AND sc.known_as = b.base_known_as
    LEFT JOIN shell_copies cp ON cp.run_id = o.run_id AND cp.repo = o.repo AND cp.path = o.path
    WHERE o.subject_kind = 'dockerfile'
),
judged AS (
    SELECT d.*, p.require_debuggable, p.severity AS base_severity,
           CASE
               WHEN d.base_source = 'scratch' THEN 'scratch base'
               WHEN d.base_has_shell IS NOT NULL THEN CASE WHEN NOT d.base_has_shell THEN 'audited base has no shell' END
               WHEN d.base_image IS NOT NULL
                    AND list_bool_or(list_transform(p.shell_less_bases, lambda g: d.base_image GLOB g))
                    AND NOT regexp_matches(coalesce(d.base_tag, ''), '(^|[-_.])(debug|dev|shell)($|[-_.])')
                   THEN 'shell-less base by name'
           END AS why
    FROM df d
    JOIN params p USING (situation)
    WHERE d.shell_copied IS NULL
)
SELECT j.subject_id,
       CASE WHEN j.require_debuggable AND j.base_severity = 'info' THEN 'warning' ELSE j.base_severity END AS severity,
       format('the final stage builds on {} ({}) and has no shell: nobody can exec into it to debug{}',
              CASE WHEN j.base_source = 'scratch' THEN 'scratch' ELSE j.base_image END, j.why,
              CASE WHEN j.require_debuggable THEN ', and this team requires debuggable images'
                   ELSE ' (fine where the team uses `kubectl debug` or injected tools)' END) AS message,
       {'why': j.why, 'base': j.base_image, 'base_source': j.base_source, 'base_known_as': j.base_known_as,
        'has_shell': false, 'require_debuggable': j.require_debuggable} AS evidence,
       j.from_line AS line, coalesce(j.stage_name, j.stage_index::VARCHAR) AS stage, NULL AS key
FROM judged j
WHERE j.why IS NOT NULL
UNION ALL
SELECT o.subject_id,
       CASE WHEN p.require_debuggable AND p.severity = 'info' THEN 'warning' ELSE p.severity END,
       format('{} ({}/{}) has no shell (layer scan): nobody can exec into it to debug{}', o.subject, s.os,
              s.architecture,
              CASE WHEN p.require_debuggable THEN ', and this team requires debuggable images'
                   ELSE ' (fine where the team uses `kubectl debug` or injected tools)' END),
       {'why': 'layer scan found no shell', 'base': NULL, 'base_source': 'image', 'base_known_as': NULL,
        'has_shell': false, 'require_debuggable': p.require_debuggable},
       NULL, NULL, NULL
FROM subjects o
JOIN params p USING (situation)
JOIN image_files_summary s
  ON s.run_id = o.run_id AND s.registry = o.registry AND s.repository = o.repository AND s.tag = o.tag
WHERE o.subject_kind = 'image' AND NOT s.has_shell
QUALIFY row_number() OVER (PARTITION BY o.subject_id ORDER BY s.manifest_digest) = 1;
