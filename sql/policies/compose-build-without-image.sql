-- compose-build-without-image: a Compose service with `build:` and no `image:`: it can only be
-- built, never pulled.
SELECT o.subject_id, p.severity,
       format('service {} of {} builds from {} but names no image: every user has to build it; '
              || 'add `image:` so it can be pulled, and built only when needed',
              c.service, o.path,
              CASE WHEN c.build_dockerfile_inline THEN 'an inline Dockerfile'
                   ELSE coalesce(c.build_dockerfile, c.build_context) END) AS message,
       {'service': c.service, 'project': c.project_name, 'build_context': c.build_context,
        'build_dockerfile': c.build_dockerfile, 'dockerfile_inline': c.build_dockerfile_inline,
        'build_target': c.build_target, 'image': c.image} AS evidence,
       NULL AS line,
       NULL AS stage,
       NULL AS key
FROM subjects o
JOIN params p USING (situation)
JOIN compose_services c
  ON c.run_id = o.run_id AND c.repo = o.repo AND c.project_files[1] = o.path AND c.service = o.service
WHERE o.subject_kind = 'compose_service'
  AND (c.build_context IS NOT NULL OR coalesce(c.build_dockerfile_inline, false))
  AND coalesce(c.image, '') = '';
