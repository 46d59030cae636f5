-- script-only-dockerfile: a stage whose every RUN only runs shell scripts it copied in (COPY/ADD,
-- or a bind mount), so its build steps are invisible to the layer cache and to readers.
-- chmod/rm/set/cd around the call are allowed; a script several Dockerfiles of the repository
-- run is shared, not hidden, and is left alone.
WITH runs AS (
    SELECT o.subject_id, o.situation, o.run_id, o.repo, o.path, i.stage_index, i.seq, i.start_line, i.flags,
           len(i.heredoc_names) > 0 AS heredoc,
           list_filter(
               list_transform(regexp_split_to_array(array_to_string(i.arguments, ' '), '\s*(&&|;|\|\||\n)\s*'),
                              lambda x: trim(x)),
               lambda x: x <> '' AND NOT regexp_matches(x, '^(set|chmod|rm|cd|echo|true|:)(\s|$)')) AS steps
    FROM subjects o
    JOIN dockerfile_instructions i ON i.run_id = o.run_id AND i.repo = o.repo AND i.path = o.path
    WHERE o.subject_kind = 'dockerfile' AND i.keyword = 'RUN'
),
judged AS (
    SELECT r.*,
           list_filter(r.steps, lambda x: regexp_matches(
               x, '^((/usr)?(/bin/)?(ba|da|a)?sh\s+(-\S+\s+)*)?[^\s;&|<>''"]+\.sh(\s|$)')) AS script_steps,
           list_transform(
               list_filter(r.steps, lambda x: regexp_matches(
                   x, '^((/usr)?(/bin/)?(ba|da|a)?sh\s+(-\S+\s+)*)?[^\s;&|<>''"]+\.sh(\s|$)')),
               lambda x: regexp_extract(x, '([^\s;&|<>''"]+\.sh)(\s|$)', 1)) AS scripts
    FROM runs r
),
stages AS (
    SELECT subject_id, situation, run_id, repo, path, stage_index,
           count(*) AS run_count,
           min(start_line) FILTER (len(scripts) > 0) AS first_line,
           bool_and(NOT heredoc AND len(steps) > 0 AND len(script_steps) = len(steps)) AS only_scripts,
           list_distinct(flatten(list(scripts))) AS scripts,
           list_distinct(flatten(list(flags))) AS run_flags
    FROM judged
    GROUP BY ALL
),
brought AS (  -- each script brought in by a COPY/ADD of the stage, or a bind mount on a RUN
    SELECT s.*, sc AS script, regexp_extract(sc, '[^/]+$') AS script_name,
           EXISTS (SELECT 1 FROM dockerfile_copies c
                   WHERE c.run_id = s.run_id AND c.repo = s.repo AND c.path = s.path
                     AND c.stage_index = s.stage_index
                     AND (list_bool_or(list_transform(c.sources, lambda x: regexp_extract(x, '[^/]+$') =
                                                                           regexp_extract(sc, '[^/]+$')))
                          OR (c.destination IS NOT NULL AND length(rtrim(c.destination, '/')) > 0
                              AND starts_with(sc, rtrim(c.destination, '/') || '/'))))
           OR list_bool_or(list_transform(s.run_flags, lambda f: f LIKE '--mount=%type=bind%'
                                                                 AND contains(f, regexp_extract(sc, '[^/]+$'))))
               AS copied
    FROM stages s, unnest(s.scripts) AS t(sc)
    WHERE s.only_scripts
),
shared AS (
    SELECT b.*,
           (SELECT list(DISTINCT c.path ORDER BY c.path) FROM dockerfile_copies c
            WHERE c.run_id = b.run_id AND c.repo = b.repo AND c.path <> b.path
              AND list_bool_or(list_transform(c.sources, lambda x: regexp_extract(x, '[^/]+$') = b.script_name)))
               AS other_dockerfiles,
           (SELECT list(f.path ORDER BY f.path) FROM repo_files f
            WHERE f.run_id = b.run_id AND f.repo = b.repo AND f.kind = 'script'
              AND regexp_extract(f.path, '[^/]+$') = b.script_name) AS in_repo
    FROM brought b
),
per_stage AS (
    SELECT subject_id, situation, run_id, repo, path, stage_index, any_value(run_count) AS run_count,
           any_value(first_line) AS first_line, list(script ORDER BY script) AS scripts,
           list_distinct(flatten(list(coalesce(in_repo, [])))) AS in_repo
    FROM shared
    GROUP BY ALL
    HAVING bool_and(copied) AND bool_and(len(coalesce(other_dockerfiles, [])) = 0)
)
SELECT x.subject_id, p.severity,
       format('stage {} only copies and runs {} ({} RUN instruction(s)): its build steps are hidden from '
              || 'the layer cache and from review; write them as RUN steps in the Dockerfile',
              coalesce(st.name, format('{} (FROM {})', x.stage_index, st.base_as_written)), array_to_string(x.scripts, ', '),
              x.run_count) AS message,
       {'scripts': x.scripts, 'run_instructions': x.run_count, 'scripts_in_repo': x.in_repo,
        'base': st.base_resolved} AS evidence,
       x.first_line AS line,
       coalesce(st.name, x.stage_index::VARCHAR) AS stage,
       coalesce(st.name, x.stage_index::VARCHAR) AS key
FROM per_stage x
JOIN params p USING (situation)
JOIN dockerfile_stages st
  ON st.run_id = x.run_id AND st.repo = x.repo AND st.path = x.path AND st.stage_index = x.stage_index;
