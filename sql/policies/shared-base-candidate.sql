-- shared-base-candidate: a stage whose base and leading build steps (RUN, ENV, ARG, WORKDIR,
-- USER, SHELL before the first COPY/ADD; metadata instructions skipped) are the same in
-- min_repos or more repositories of the org. Every Dockerfile subject of the evaluation is
-- compared; each finding reports the longest shared run of at least min_steps steps.
WITH first_copy AS (
    SELECT run_id, repo, path, stage_index, min(seq) AS seq
    FROM dockerfile_instructions WHERE keyword IN ('COPY', 'ADD') GROUP BY ALL
),
instr AS (
    SELECT o.subject_id, o.repo, s.stage_index, s.name, s.start_line AS from_line, s.base_normalized,
           i.seq, i.keyword, i.start_line,
           i.keyword || ' ' || trim(regexp_replace(array_to_string(i.flags, ' ') || ' '
               || array_to_string(i.arguments, ' ') || ' ' || array_to_string(i.heredoc_bodies, ' '), '\s+', ' ', 'g'))
               AS step
    FROM subjects o
    JOIN dockerfile_stages s ON s.run_id = o.run_id AND s.repo = o.repo AND s.path = o.path
    JOIN dockerfile_instructions i
      ON i.run_id = s.run_id AND i.repo = s.repo AND i.path = s.path AND i.stage_index = s.stage_index
    LEFT JOIN first_copy c
      ON c.run_id = s.run_id AND c.repo = s.repo AND c.path = s.path AND c.stage_index = s.stage_index
    WHERE o.subject_kind = 'dockerfile' AND s.base_kind = 'image'
      AND i.keyword IN ('RUN', 'ENV', 'ARG', 'WORKDIR', 'USER', 'SHELL') AND i.seq < coalesce(c.seq, 1 << 30)
),
stages AS (
    SELECT subject_id, repo, stage_index, name, from_line, base_normalized,
           list(step ORDER BY seq)[1:30] AS steps,
           list(keyword ORDER BY seq)[1:30] AS keywords,
           list(start_line ORDER BY seq)[1:30] AS lines
    FROM instr
    GROUP BY ALL
),
prefixes AS (
    SELECT s.*, k, md5(s.base_normalized || chr(10) || array_to_string(s.steps[1:k], chr(10))) AS prefix,
           list_contains(s.keywords[1:k], 'RUN') AS has_run
    FROM stages s, range(1, len(s.steps) + 1) AS t(k)
),
shared AS (
    SELECT prefix, count(DISTINCT repo) AS repos, list(DISTINCT repo ORDER BY repo) AS repo_list
    FROM prefixes
    GROUP BY prefix
),
candidates AS (
    SELECT x.*, h.repos, h.repo_list, p.severity, p.min_repos, p.min_steps
    FROM prefixes x
    JOIN shared h USING (prefix)
    JOIN subjects o ON o.subject_id = x.subject_id
    JOIN params p ON p.situation = o.situation
    WHERE x.has_run AND x.k >= p.min_steps AND h.repos >= p.min_repos
    QUALIFY row_number() OVER (PARTITION BY x.subject_id, x.stage_index ORDER BY x.k DESC) = 1
)
SELECT c.subject_id, c.severity,
       format('stage {} on {} starts with the same {} steps (lines {}-{}) as in {} repositories ({} or more '
              || 'is a finding): build them once as an org base image and start FROM it; also in: {}',
              coalesce(c.name, c.stage_index::VARCHAR), c.base_normalized, c.k, c.lines[1], c.lines[c.k], c.repos,
              c.min_repos,
              array_to_string(list_filter(c.repo_list, lambda r: r <> c.repo)[1:5], ', ')
                  || CASE WHEN c.repos - 1 > 5 THEN format(' and {} more', c.repos - 6) ELSE '' END) AS message,
       {'base': c.base_normalized, 'shared_steps': c.k, 'steps': c.steps[1:c.k], 'repos': c.repos,
        'other_repos': list_filter(c.repo_list, lambda r: r <> c.repo)[1:20], 'min_repos': c.min_repos,
        'min_steps': c.min_steps} AS evidence,
       c.from_line AS line,
       coalesce(c.name, c.stage_index::VARCHAR) AS stage,
       coalesce(c.name, c.stage_index::VARCHAR) AS key
FROM candidates c;
