-- compose-optional-without-profile: a debug or admin side tool (by image name or service name)
-- that always starts (no profile) beside the project's own services. A project made only of
-- such tools is an admin stack on purpose and is not judged.
WITH svc AS (
    SELECT o.subject_id, o.situation, o.service, c.image, c.profiles, c.run_id, c.repo, c.project_dir,
           c.project_files, regexp_extract(coalesce(c.image, ''), '([^/@:]+)(:[^/@]*)?(@.*)?$', 1) AS image_name
    FROM subjects o
    JOIN compose_services c
      ON c.run_id = o.run_id AND c.repo = o.repo AND c.project_files[1] = o.path AND c.service = o.service
    WHERE o.subject_kind = 'compose_service'
),
project AS (  -- every service of the project, with its image name
    SELECT c.run_id, c.repo, c.project_dir, c.project_files, c.service,
           regexp_extract(coalesce(c.image, ''), '([^/@:]+)(:[^/@]*)?(@.*)?$', 1) AS image_name
    FROM compose_services c
    SEMI JOIN (SELECT DISTINCT run_id, repo FROM svc) s USING (run_id, repo)
),
judged AS (
    SELECT s.*, p.severity, p.tool_images,
           list_filter(p.tool_images, lambda g: lower(s.image_name) GLOB lower(g) OR lower(s.service) GLOB lower(g))
               AS matched,
           (SELECT list(x.service ORDER BY x.service) FROM project x
            WHERE x.run_id = s.run_id AND x.repo = s.repo AND x.project_dir = s.project_dir
              AND x.project_files = s.project_files
              AND len(list_filter(p.tool_images, lambda g: lower(x.image_name) GLOB lower(g)
                                                       OR lower(x.service) GLOB lower(g))) = 0) AS app_services
    FROM svc s
    JOIN params p USING (situation)
    WHERE len(s.profiles) = 0
)
SELECT subject_id, severity,
       format('service {} ({}) is a debug/admin tool (matches {}) and starts with every `docker compose up`: '
              || 'put it under a profile', service, coalesce(image, 'built here'), matched[1]) AS message,
       {'image': image, 'image_name': image_name, 'matched': matched[1], 'profiles': profiles,
        'app_services': app_services[1:10]} AS evidence,
       NULL AS line, NULL AS stage, NULL AS key
FROM judged
WHERE len(matched) > 0 AND len(coalesce(app_services, [])) > 0;
