-- buildkit-disabled: a script, Makefile or CI file sets DOCKER_BUILDKIT=0 (the legacy builder).
-- One finding per occurrence; the file's own `docker build` calls are counted as evidence.
WITH hits AS (
    SELECT o.subject_id, o.situation, g.path, g.kind, g.line, g.detail,
           (SELECT count(*) FROM repo_signals b
            WHERE b.run_id = g.run_id AND b.repo = g.repo AND b.path = g.path AND b.signal = 'docker_build')
               AS builds_in_file,
           row_number() OVER (PARTITION BY o.subject_id, g.path, g.detail ORDER BY g.line) AS nth
    FROM subjects o
    JOIN repo_signals g ON g.run_id = o.run_id AND g.repo = o.repo
    WHERE o.subject_kind = 'repo' AND g.signal = 'buildkit_disabled'
)
SELECT h.subject_id, p.severity,
       format('{} line {} turns BuildKit off (`{}`){}: builds there use the legacy builder, '
              || 'without parallel stages, stage skipping or cache mounts',
              h.path, h.line, h.detail,
              CASE WHEN h.builds_in_file > 0 THEN format(' ({} docker build command(s) in that file)', h.builds_in_file)
                   ELSE '' END) AS message,
       {'file': h.path, 'file_kind': h.kind, 'setting': h.detail, 'builds_in_file': h.builds_in_file} AS evidence,
       h.line AS line,
       NULL AS stage,
       h.path || ' ' || h.detail || CASE WHEN h.nth > 1 THEN ' #' || h.nth ELSE '' END AS key
FROM hits h
JOIN params p USING (situation);
