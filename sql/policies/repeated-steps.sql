-- repeated-steps: the same RUN command (options, arguments and heredocs, whitespace collapsed)
-- in min_repeats or more stages of one Dockerfile that build on the same base image (only they
-- can share it through a helper stage). One finding per repeated command, at its first repeat.
-- Each stage's root (the end of its FROM-stage chain), walked here for the subjects' Dockerfiles
-- only: stage_bases gives the same root but also matches every base against the audited images,
-- which this policy does not need and which costs most of its time. Same depth guard as stage_bases.
WITH RECURSIVE chain AS (
    SELECT s.run_id, s.repo, s.path, s.stage_index, coalesce(s.name, s.stage_index::VARCHAR) AS stage,
           s.base_kind, s.base_stage_index, s.base_normalized, 0 AS depth
    FROM dockerfile_stages s
    SEMI JOIN subjects o
      ON o.subject_kind = 'dockerfile' AND o.run_id = s.run_id AND o.repo = s.repo AND o.path = s.path
    UNION ALL
    SELECT c.run_id, c.repo, c.path, c.stage_index, c.stage, p.base_kind, p.base_stage_index, p.base_normalized,
           c.depth + 1
    FROM chain c
    JOIN dockerfile_stages p
      ON p.run_id = c.run_id AND p.repo = c.repo AND p.path = c.path AND p.stage_index = c.base_stage_index
    WHERE c.base_kind = 'stage' AND c.depth < 200
),
stage_roots AS (  -- stage_bases' coalesce(base_image, root_base_kind): the root's base or its kind
    SELECT run_id, repo, path, stage_index, stage, coalesce(base_normalized, base_kind) AS base
    FROM chain
    QUALIFY row_number() OVER (PARTITION BY run_id, repo, path, stage_index ORDER BY depth DESC) = 1
),
runs AS (
    SELECT o.subject_id, o.situation, o.run_id, o.repo, o.path, i.stage_index, i.start_line,
           trim(regexp_replace(array_to_string(i.flags, ' ') || ' ' || array_to_string(i.arguments, ' ')
                               || ' ' || array_to_string(i.heredoc_bodies, ' '), '\s+', ' ', 'g')) AS command
    FROM subjects o
    JOIN dockerfile_instructions i ON i.run_id = o.run_id AND i.repo = o.repo AND i.path = o.path
    WHERE o.subject_kind = 'dockerfile' AND i.keyword = 'RUN'
),
based AS (
    SELECT r.*, b.base, b.stage
    FROM runs r
    JOIN stage_roots b ON b.run_id = r.run_id AND b.repo = r.repo AND b.path = r.path AND b.stage_index = r.stage_index
),
groups AS (
    SELECT subject_id, situation, base, command,
           count(DISTINCT stage_index) AS stages_count,
           list(stage ORDER BY start_line) AS stages,
           list(start_line ORDER BY start_line) AS lines
    FROM based
    GROUP BY ALL
)
SELECT g.subject_id, p.severity,
       format('the same RUN appears in {} stages built on {} ({}, lines {}; {} or more is a finding): '
              || 'put it in one helper stage and build the others FROM it: {}',
              g.stages_count, g.base, array_to_string(g.stages, ', '),
              array_to_string(g.lines, ', '), p.min_repeats,
              CASE WHEN length(g.command) > 80 THEN left(g.command, 77) || '...' ELSE g.command END) AS message,
       {'command': g.command, 'stages': g.stages, 'lines': g.lines, 'repeats': g.stages_count, 'base': g.base,
        'min_repeats': p.min_repeats} AS evidence,
       g.lines[2] AS line,
       g.stages[2] AS stage,
       left(md5(g.base || ' ' || g.command), 16) AS key
FROM groups g
JOIN params p USING (situation)
WHERE g.stages_count >= p.min_repeats AND length(g.command) >= p.min_command_length;
