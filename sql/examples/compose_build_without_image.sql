-- Which Compose services build an image but do not name it (build: without image:)?
-- With both, each user can choose to pull or to build.
-- Run: hullcheck sql -c hullcheck.yaml -f sql/examples/compose_build_without_image.sql
SELECT repo, project_dir, service, build_context, build_dockerfile
FROM latest_compose_services
WHERE (build_context IS NOT NULL OR build_dockerfile_inline) AND image IS NULL
ORDER BY repo, project_dir, service;
