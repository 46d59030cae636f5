-- image-size-budget: a platform image whose compressed size is over the situation's budget.
-- One finding per tag (the largest platform image), critical past critical_factor x the budget.
SELECT o.subject_id,
       CASE WHEN m.compressed_bytes > p.max_bytes * p.critical_factor THEN 'critical' ELSE p.severity END AS severity,
       format('{} is {} MB compressed ({}/{}), over the {} budget of {} MB for a {} image',
              o.subject, round(m.compressed_bytes / 1e6, 1), m.os, m.architecture, o.profile,
              round(p.max_bytes / 1e6, 1), o.profile) AS message,
       {'compressed_bytes': m.compressed_bytes, 'max_bytes': p.max_bytes,
        'over_by_bytes': m.compressed_bytes - p.max_bytes,
        'factor': round(m.compressed_bytes / nullif(p.max_bytes, 0), 2),
        'platform': m.os || '/' || m.architecture, 'manifest_digest': m.manifest_digest} AS evidence,
       NULL AS line, NULL AS stage, NULL AS key
FROM subjects o
JOIN params p USING (situation)
JOIN image_manifests m
  ON m.run_id = o.run_id AND m.registry = o.registry AND m.repository = o.repository AND m.tag = o.tag
WHERE o.subject_kind = 'image' AND m.compressed_bytes > p.max_bytes
QUALIFY row_number() OVER (PARTITION BY o.subject_id ORDER BY m.compressed_bytes DESC, m.manifest_digest) = 1;
