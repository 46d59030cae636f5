-- compose-optional-without-profile: a debug or admin side tool (by image name or service name)
-- that always starts (no profile) beside the project's own services. A project made only of
-- such tools is an admin stack on purpose and is not judged.
WITH pats AS (  -- the patterns of each situation, lowercased once (the evidence names the pattern as written)
    SELECT situation, severity, tool_images, list_transform(tool_images, lambda g: lower(g)) AS globs FROM params
),
project AS (  -- every service of the projects judged, its image name and service name lowercased once
    SELECT c.run_id, c.repo, c.project_dir, c.project_files, c.service, c.image, c.profiles,
           hash(c.project_dir, c.project_files) AS project_key,
           regexp_extract(coalesce(c.image, ''), '([^/@:]+)(:[^/@]*)?(@.*)?$', 1) AS image_name
    FROM compose_services c
    SEMI JOIN (SELECT DISTINCT run_id, repo FROM subjects WHERE subject_kind = 'compose_service') s
        USING (run_id, repo)
),
names AS (SELECT *, lower(image_name) AS image_lower, lower(service) AS service_lower FROM project),
flagged AS (  -- the always-started services whose image or name matches a tool pattern of their situation
    SELECT o.subject_id, o.situation, x.*, p.severity, p.globs,
           list_filter(p.tool_images, lambda g: x.image_lower GLOB lower(g) OR x.service_lower GLOB lower(g))
               AS matched
    FROM subjects o
    JOIN names x
      ON x.run_id = o.run_id AND x.repo = o.repo AND x.project_files[1] = o.path AND x.service = o.service
    JOIN pats p USING (situation)
    WHERE o.subject_kind = 'compose_service' AND len(x.profiles) = 0
      AND list_bool_or(list_transform(p.globs, lambda g: x.image_lower GLOB g OR x.service_lower GLOB g))
),
-- Per project and situation, its own (non-tool) services, computed once: a subquery per service
-- would compare every service with every other (30,000 services: 900 million pairs).
apps AS (
    SELECT k.run_id, k.repo, k.project_key, k.situation, list(x.service ORDER BY x.service) AS app_services
    FROM (SELECT DISTINCT run_id, repo, project_key, situation, globs FROM flagged) k
    JOIN names x USING (run_id, repo, project_key)
    WHERE NOT list_bool_or(list_transform(k.globs, lambda g: x.image_lower GLOB g OR x.service_lower GLOB g))
    GROUP BY k.run_id, k.repo, k.project_key, k.situation
)
SELECT f.subject_id, f.severity,
       format('service {} ({}) is a debug/admin tool (matches {}) and starts with every `docker compose up`: '
              || 'put it under a profile', f.service, coalesce(f.image, 'built here'), f.matched[1]) AS message,
       {'image': f.image, 'image_name': f.image_name, 'matched': f.matched[1], 'profiles': f.profiles,
        'app_services': a.app_services[1:10]} AS evidence,
       NULL AS line, NULL AS stage, NULL AS key
FROM flagged f
JOIN apps a USING (run_id, repo, project_key, situation);
