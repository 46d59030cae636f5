-- single-arch-image: an image tag (single manifest or index) that lacks a platform the situation
-- requires (`required_platforms`, os/arch[/variant]: a requirement without a variant accepts any,
-- arm64 without a variant is v8), or, where none is required, that is built for one platform only.
WITH plats AS (
    SELECT o.subject_id, o.situation, o.subject,
           list(DISTINCT m.os || '/' || m.architecture || coalesce('/' || m.variant, '')
                ORDER BY m.os || '/' || m.architecture || coalesce('/' || m.variant, '')) AS platforms,
           list({'os': m.os, 'arch': m.architecture, 'variant': m.variant}) AS have
    FROM subjects o
    JOIN image_manifests m
      ON m.run_id = o.run_id AND m.registry = o.registry AND m.repository = o.repository AND m.tag = o.tag
    WHERE o.subject_kind = 'image'
    GROUP BY ALL
),
judged AS (
    SELECT x.*, p.severity, p.single_arch_severity, p.required_platforms,
           list_filter(p.required_platforms, lambda req:
               len(list_filter(x.have, lambda h:
                   lower(h.os) = lower(split_part(req, '/', 1))
                   AND lower(h.arch) = lower(split_part(req, '/', 2))
                   AND (split_part(req, '/', 3) = ''
                        OR lower(coalesce(h.variant, CASE WHEN h.arch = 'arm64' THEN 'v8' END, ''))
                           = lower(split_part(req, '/', 3))))) = 0) AS missing
    FROM plats x
    JOIN params p USING (situation)
)
SELECT subject_id,
       CASE WHEN len(required_platforms) > 0 THEN severity ELSE single_arch_severity END AS severity,
       CASE WHEN len(required_platforms) > 0 THEN
                format('{} is built for {} but lacks {}, which the team deploys to (required: {})', subject,
                       array_to_string(platforms, ', '), array_to_string(missing, ', '),
                       array_to_string(required_platforms, ', '))
            ELSE format('{} is built for {} only: it cannot run on other platforms (e.g. arm64 nodes) '
                        || 'without emulation', subject, platforms[1])
       END AS message,
       {'platforms': platforms, 'missing': missing, 'required_platforms': required_platforms} AS evidence,
       NULL AS line, NULL AS stage, NULL AS key
FROM judged
WHERE (len(required_platforms) > 0 AND len(missing) > 0)
   OR (len(required_platforms) = 0 AND len(platforms) = 1);
