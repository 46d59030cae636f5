-- Which Compose services reach another service of their project by name (in an environment
-- value such as DB_HOST=db or http://api:8080) without a depends_on on it? They start in a race.
-- Values that looked like secrets are stored redacted and cannot be searched.
-- Run: hullcheck sql -c hullcheck.yaml -f sql/examples/compose_reaches_service_without_depends_on.sql
WITH pairs AS (
    SELECT s.repo, s.project_dir, s.project_files, s.service, t.service AS reaches, e."key" AS via_variable,
           list_transform(s.depends_on, lambda d: d.service) AS depends_on
    FROM latest_compose_services s
    JOIN latest_compose_services t
      ON t.run_id = s.run_id AND t.repo = s.repo AND t.project_dir = s.project_dir
     AND t.project_files = s.project_files AND t.service <> s.service
    CROSS JOIN unnest(s.environment) AS u(e)
    WHERE NOT e.redacted AND e."value" IS NOT NULL
      AND regexp_matches(e."value", '(^|[/@=,\s])' || t.service || '($|[:/,\s])')
)
SELECT repo, project_dir, service, reaches, string_agg(DISTINCT via_variable, ', ') AS via_variables
FROM pairs
WHERE NOT list_contains(depends_on, reaches)
GROUP BY ALL
ORDER BY repo, project_dir, service, reaches;
