-- scripted-multi-build: one script, Makefile or CI file with min_builds or more `docker build`
-- commands. What the repository already has to describe builds (bake, Compose) is evidence.
WITH per_file AS (
    SELECT o.subject_id, o.situation, o.run_id, o.repo, g.path, any_value(g.kind) AS kind,
           count(*) AS builds, min(g.line) AS first_line,
           list(g.line ORDER BY g.line) AS lines,
           list(g.detail ORDER BY g.line)[1:5] AS commands
    FROM subjects o
    JOIN repo_signals g ON g.run_id = o.run_id AND g.repo = o.repo
    WHERE o.subject_kind = 'repo' AND g.signal = 'docker_build'
    GROUP BY ALL
),
judged AS (
    SELECT f.*, p.severity, p.min_builds,
           (SELECT list(r.path ORDER BY r.path) FROM repo_files r
            WHERE r.run_id = f.run_id AND r.repo = f.repo AND r.kind = 'bake') AS bake_files,
           (SELECT count(*) FROM compose_services c
            WHERE c.run_id = f.run_id AND c.repo = f.repo AND c.build_context IS NOT NULL) AS compose_builds
    FROM per_file f
    JOIN params p USING (situation)
    WHERE f.builds >= p.min_builds
)
SELECT j.subject_id, j.severity,
       format('{} runs docker build {} times (lines {}; the limit is {}): {}',
              j.path, j.builds, array_to_string(j.lines, ', '), j.min_builds,
              CASE WHEN len(coalesce(j.bake_files, [])) > 0
                       THEN format('the repository already has {}: build these images with `docker buildx bake`',
                                   j.bake_files[1])
                   WHEN j.compose_builds > 0
                       THEN 'the repository already has a Compose file that builds: describe these images there '
                            || 'and run `docker compose build`'
                   ELSE 'describe the images in a Compose file or a bake file and build them in one command'
              END) AS message,
       {'file': j.path, 'file_kind': j.kind, 'builds': j.builds, 'min_builds': j.min_builds, 'lines': j.lines,
        'commands': j.commands, 'bake_files': coalesce(j.bake_files, []), 'compose_build_services': j.compose_builds}
           AS evidence,
       j.first_line AS line,
       NULL AS stage,
       j.path AS key
FROM judged j;
