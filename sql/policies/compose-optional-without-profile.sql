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
tools AS (  -- the always-started services whose image or name matches a tool pattern of their situation
    SELECT s.*, p.severity, p.tool_images,
           list_filter(p.tool_images, lambda g: lower(s.image_name) GLOB lower(g) OR lower(s.service) GLOB lower(g))
               AS matched
    FROM svc s
    JOIN params p USING (situation)
    WHERE len(s.profiles) = 0
),
flagged AS (SELECT * FROM tools WHERE len(matched) > 0),
-- Per project and situation, its own (non-tool) services, computed once: a subquery per service
-- would compare every service with every other (30,000 services: 900 million pairs).
apps AS (
    SELECT k.run_id, k.repo, k.project_dir, k.project_files, k.situation,
           list(x.service ORDER BY x.service) AS app_services
    FROM (SELECT DISTINCT run_id, repo, project_dir, project_files, situation, tool_images FROM flagged) k
    JOIN project x USING (run_id, repo, project_dir, project_files)
    WHERE len(list_filter(k.tool_images, lambda g: lower(x.image_name) GLOB lower(g)
                                             OR lower(x.service) GLOB lower(g))) = 0
    GROUP BY k.run_id, k.repo, k.project_dir, k.project_files, k.situation
)
SELECT f.subject_id, f.severity,
       format('service {} ({}) is a debug/admin tool (matches {}) and starts with every `docker compose up`: '
              || 'put it under a profile', f.service, coalesce(f.image, 'built here'), f.matched[1]) AS message,
       {'image': f.image, 'image_name': f.image_name, 'matched': f.matched[1], 'profiles': f.profiles,
        'app_services': a.app_services[1:10]} AS evidence,
       NULL AS line, NULL AS stage, NULL AS key
FROM flagged f
JOIN apps a USING (run_id, repo, project_dir, project_files, situation);
