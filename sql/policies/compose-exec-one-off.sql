-- compose-exec-one-off: a script, Makefile or CI file runs a job with `docker compose exec`
-- (needs a running container) where `docker compose run --rm` starts one for the job.
WITH hits AS (
    SELECT o.subject_id, o.situation, g.path, g.kind, g.line, g.detail,
           nullif(regexp_extract(g.detail, '^exec\s+(?:-\S+\s+)*([A-Za-z0-9][A-Za-z0-9_.-]*)', 1), '') AS service,
           row_number() OVER (PARTITION BY o.subject_id, g.path, g.detail ORDER BY g.line) AS nth
    FROM subjects o
    JOIN repo_signals g ON g.run_id = o.run_id AND g.repo = o.repo
    WHERE o.subject_kind = 'repo' AND g.signal = 'compose_exec'
)
SELECT h.subject_id, p.severity,
       format('{} line {} runs `docker compose {}`: exec needs {} already running; '
              || 'for a one-off job use `docker compose run --rm`',
              h.path, h.line, h.detail,
              CASE WHEN h.service IS NULL THEN 'the service' ELSE 'service ' || h.service END) AS message,
       {'file': h.path, 'file_kind': h.kind, 'command': 'docker compose ' || h.detail, 'service': h.service}
           AS evidence,
       h.line AS line,
       NULL AS stage,
       h.path || ' ' || h.detail || CASE WHEN h.nth > 1 THEN ' #' || h.nth ELSE '' END AS key
FROM hits h
JOIN params p USING (situation);
