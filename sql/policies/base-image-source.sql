-- base-image-source: a stage built on an external image from a registry that is not the org's.
-- The org's registries: those the situation allows (globs on the registry or registry/path), and
-- the registries hullcheck audits unless they are public ones. When neither is known, nothing
-- can be judged and nothing fires.
WITH org AS (
    SELECT list(DISTINCT registry ORDER BY registry) AS audited FROM latest_registry_attempts
    WHERE NOT starts_with(registry, 'layout:')  -- images on disk are not a registry one can pull a base from
),
bases AS (
    SELECT o.subject_id, o.situation, s.stage_index, s.name, s.start_line, s.base_as_written, s.base_normalized,
           s.base_registry, s.base_repository, b.base_source, b.base_known_as
    FROM subjects o
    JOIN dockerfile_stages s ON s.run_id = o.run_id AND s.repo = o.repo AND s.path = o.path
    LEFT JOIN stage_bases b
      ON b.run_id = s.run_id AND b.repo = s.repo AND b.path = s.path AND b.stage_index = s.stage_index
    WHERE o.subject_kind = 'dockerfile' AND s.base_kind = 'image'
),
judged AS (
    SELECT x.*, p.severity, p.allowed_registries, p.public_registries,
           list_filter(coalesce(org.audited, []), lambda r: NOT coalesce(
               list_bool_or(list_transform(p.public_registries, lambda g: r GLOB g)), false)) AS org_registries,
           coalesce(list_bool_or(list_transform(p.allowed_registries, lambda g:
               x.base_registry GLOB g OR (x.base_registry || '/' || x.base_repository) GLOB g)), false) AS allowed
    FROM bases x
    JOIN params p USING (situation)
    CROSS JOIN org
)
SELECT j.subject_id, j.severity,
       format('FROM {} (line {}) pulls from {}, not from the org''s registries ({}): public registries '
              || 'rate-limit and rebuild on their schedule; build or mirror this base in the org registry',
              j.base_as_written, j.start_line, j.base_registry,
              array_to_string(list_distinct(list_concat(j.org_registries, j.allowed_registries)), ', ')) AS message,
       {'base': j.base_normalized, 'registry': j.base_registry,
        'official_image': starts_with(j.base_repository, 'library/'),
        'org_registries': j.org_registries, 'allowed_registries': j.allowed_registries,
        'base_source': coalesce(j.base_source, 'unknown'), 'base_known_as': j.base_known_as} AS evidence,
       j.start_line AS line,
       coalesce(j.name, j.stage_index::VARCHAR) AS stage,
       coalesce(j.name, j.stage_index::VARCHAR) || ' ' || j.base_registry || '/' || j.base_repository AS key
FROM judged j
WHERE NOT j.allowed
  AND NOT list_contains(j.org_registries, j.base_registry)
  AND (len(j.org_registries) > 0 OR len(j.allowed_registries) > 0);
