-- package-cache-left: a RUN that leaves a package manager's cache in its layer, in a stage that
-- ships (the final stage and the stages it builds on) unless all_stages: apt-get update without
-- removing /var/lib/apt/lists (hadolint DL3009), apk add without --no-cache (DL3019), pip install
-- without --no-cache-dir (DL3042). Installs are read from dockerfile_packages (cache_cleaned);
-- `apt-get update` and `pip install -r requirements.txt` name no package, so the RUN's text decides.
-- The stages whose RUNs call pip, each with itself and the stages it builds on, for PIP_NO_CACHE_DIR
-- set upstream. Not every stage: 3,000 chained stages would make 4.5 million rows; chains deeper
-- than 200 stages are cut (no real file comes close). The stages that ship come from
-- dockerfile_shipped_stages.
WITH RECURSIVE anc AS (
    SELECT s.run_id, s.repo, s.path, s.stage_index, s.stage_index AS ancestor, s.base_kind, s.base_stage_index,
           0 AS depth
    FROM subjects o
    JOIN dockerfile_stages s ON s.run_id = o.run_id AND s.repo = o.repo AND s.path = o.path
    WHERE o.subject_kind = 'dockerfile'
      AND EXISTS (
          SELECT 1 FROM dockerfile_instructions i
          WHERE i.run_id = s.run_id AND i.repo = s.repo AND i.path = s.path AND i.stage_index = s.stage_index
            AND i.keyword = 'RUN' AND contains(array_to_string(i.arguments, ' '), 'pip'))
    UNION ALL
    SELECT a.run_id, a.repo, a.path, a.stage_index, p.stage_index, p.base_kind, p.base_stage_index, a.depth + 1
    FROM anc a
    JOIN dockerfile_stages p
      ON p.run_id = a.run_id AND p.repo = a.repo AND p.path = a.path AND p.stage_index = a.base_stage_index
    WHERE a.base_kind = 'stage' AND a.depth < 200
),
shipped AS (SELECT run_id, repo, path, stage_index FROM dockerfile_shipped_stages),  -- in the image
run_steps AS (
    SELECT o.subject_id, o.situation, i.run_id, i.repo, i.path, i.seq, i.stage_index, i.start_line, i.flags,
           regexp_replace(i.text, '\buv\s+pip\s+install', 'uv-pip-install', 'g') AS text,
           coalesce(s.name, i.stage_index::VARCHAR) AS stage,
           CASE WHEN s.name IS NOT NULL THEN 'stage ' || s.name WHEN s.is_final THEN 'the final stage'
                ELSE 'stage ' || i.stage_index END AS stage_words,
           sh.stage_index IS NOT NULL AS ships,
           list_transform(
               list_filter(i.flags, lambda f: regexp_matches(lower(f), '^--mount=(.*,)?type=cache(,|$)')),
               lambda f: regexp_extract(f, '(^--mount=|,)(target|dst|destination)=([^,]+)', 3)) AS cache_targets
    FROM subjects o
    JOIN dockerfile_instructions i ON i.run_id = o.run_id AND i.repo = o.repo AND i.path = o.path
    JOIN dockerfile_stages s
      ON s.run_id = i.run_id AND s.repo = i.repo AND s.path = i.path AND s.stage_index = i.stage_index
    LEFT JOIN shipped sh
      ON sh.run_id = i.run_id AND sh.repo = i.repo AND sh.path = i.path AND sh.stage_index = i.stage_index
    WHERE o.subject_kind = 'dockerfile' AND i.keyword = 'RUN'
),
pkgs AS (
    SELECT k.run_id, k.repo, k.path, k.seq, k.manager,
           list(DISTINCT k.package ORDER BY k.package) AS packages,
           list(DISTINCT k.package ORDER BY k.package) FILTER (NOT k.cache_cleaned) AS left_packages
    FROM dockerfile_packages k
    WHERE k.manager IN ('apt', 'apk', 'pip')
    GROUP BY ALL
),
pip_env AS (  -- PIP_NO_CACHE_DIR set by ENV before the RUN, in its stage or a stage it builds on
    SELECT DISTINCT r.run_id, r.repo, r.path, r.seq
    FROM run_steps r
    JOIN anc a ON a.run_id = r.run_id AND a.repo = r.repo AND a.path = r.path AND a.stage_index = r.stage_index
    JOIN dockerfile_vars v
      ON v.run_id = r.run_id AND v.repo = r.repo AND v.path = r.path AND v.stage_index = a.ancestor
     AND v.kind = 'ENV' AND v.key = 'PIP_NO_CACHE_DIR' AND (a.ancestor < r.stage_index OR v.seq < r.seq)
),
judged AS (
    -- apt: the RUN that fetches the lists is the one that must remove them
    SELECT r.*, 'apt' AS manager, 'apt-get update' AS command, coalesce(k.packages, []) AS packages,
           '/var/lib/apt/lists' AS cache_path,
           'add `&& rm -rf /var/lib/apt/lists/*` at the end of the same RUN, or mount a cache on /var/lib/apt'
               AS fix
    FROM run_steps r
    LEFT JOIN pkgs k ON k.run_id = r.run_id AND k.repo = r.repo AND k.path = r.path AND k.seq = r.seq
                    AND k.manager = 'apt'
    WHERE regexp_matches(r.text, '\bapt(-get)?(\s+-\S+)*\s+update\b')
      AND NOT regexp_matches(r.text, 'rm\s+(-\w+\s+)*[^;&|]*/var/lib/apt/lists')
      AND NOT coalesce(list_bool_or(list_transform(r.cache_targets, lambda t: starts_with(t, '/var/lib/apt'))), false)
    UNION ALL
    SELECT r.*, 'apk', 'apk add', k.left_packages, '/var/cache/apk',
           'use `apk add --no-cache …`'
    FROM run_steps r
    JOIN pkgs k ON k.run_id = r.run_id AND k.repo = r.repo AND k.path = r.path AND k.seq = r.seq
               AND k.manager = 'apk'
    WHERE len(coalesce(k.left_packages, [])) > 0
    UNION ALL
    SELECT r.*, 'pip', 'pip install', coalesce(k.left_packages, []), '~/.cache/pip',
           'use `pip install --no-cache-dir …`, or set `ENV PIP_NO_CACHE_DIR=1`'
    FROM run_steps r
    LEFT JOIN pkgs k ON k.run_id = r.run_id AND k.repo = r.repo AND k.path = r.path AND k.seq = r.seq
                    AND k.manager = 'pip'
    WHERE CASE
              WHEN k.packages IS NOT NULL THEN len(coalesce(k.left_packages, [])) > 0
              ELSE regexp_matches(r.text, '(^|[\s;&|(/])pip[0-9.]*(\s+-\S+)*\s+install\b')
                   AND NOT regexp_matches(r.text, '--no-cache-dir|PIP_NO_CACHE_DIR=|pip[0-9.]*\s+cache\s+purge'
                                                   || '|rm\s+(-\w+\s+)*[^;&|]*\.cache\b')
                   AND NOT coalesce(list_bool_or(list_transform(r.cache_targets,
                                                                lambda t: regexp_matches(t, '^(/root|~)/\.cache'))), false)
                   AND NOT EXISTS (SELECT 1 FROM pip_env e WHERE e.run_id = r.run_id AND e.repo = r.repo
                                   AND e.path = r.path AND e.seq = r.seq)
          END
)
SELECT j.subject_id, p.severity,
       CASE j.manager
           WHEN 'apt' THEN format('RUN at line {} runs `apt-get update` and leaves the package lists in {} in its layer '
                                  || '({}): {}', j.start_line, j.cache_path, j.stage_words, j.fix)
           ELSE format('RUN at line {} runs `{}`{} without {} and leaves the cache in {} in its layer ({}): {}',
                       j.start_line, j.command,
                       CASE WHEN len(j.packages) > 0 THEN ' of ' || array_to_string(j.packages, ', ')
                            ELSE ' (from requirement files)' END,
                       CASE j.manager WHEN 'apk' THEN '--no-cache' ELSE '--no-cache-dir' END,
                       j.cache_path, j.stage_words, j.fix)
       END AS message,
       {'manager': j.manager, 'command': j.command, 'packages': j.packages, 'cache_path': j.cache_path,
        'stage_ships': j.ships, 'all_stages': p.all_stages,
        'hadolint': CASE j.manager WHEN 'apt' THEN 'DL3009' WHEN 'apk' THEN 'DL3019' ELSE 'DL3042' END} AS evidence,
       j.start_line AS line,
       j.stage,
       j.stage || ' ' || j.manager || ' '
           || CASE WHEN len(j.packages) > 0 THEN array_to_string(j.packages, ',') ELSE md5(j.text) END AS key
FROM judged j
JOIN params p USING (situation)
WHERE j.ships OR p.all_stages;
