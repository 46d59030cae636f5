-- wasted-layer-bytes: a scanned image whose layers carry file versions that later layers overwrite
-- or delete, over the byte budget or under the efficiency floor. One finding per tag: its worst platform.
WITH scanned AS (
    SELECT o.subject_id, o.subject, o.situation, s.os, s.architecture, s.manifest_digest, s.wasted_bytes,
           s.final_bytes, s.uncompressed_bytes,
           CASE WHEN s.final_bytes + s.wasted_bytes > 0
                THEN s.final_bytes / (s.final_bytes + s.wasted_bytes) END AS efficiency
    FROM subjects o
    JOIN image_files_summary s
      ON s.run_id = o.run_id AND s.registry = o.registry AND s.repository = o.repository AND s.tag = o.tag
    WHERE o.subject_kind = 'image' AND s.wasted_bytes > 0
)
SELECT w.subject_id, p.severity,
       format('{} ({}/{}) ships {} MB of file versions that later layers overwrite or delete ({}% of its file bytes '
              || 'are useful): {}',
              w.subject, w.os, w.architecture, round(w.wasted_bytes / 1e6, 1), round(100 * w.efficiency, 1),
              concat_ws(' and ',
                        CASE WHEN w.wasted_bytes > p.max_wasted_bytes
                             THEN format('over the {} MB allowed', round(p.max_wasted_bytes / 1e6, 1)) END,
                        CASE WHEN w.efficiency < p.min_efficiency
                             THEN format('under the {}% efficiency floor', round(100 * p.min_efficiency, 1)) END))
           AS message,
       {'wasted_bytes': w.wasted_bytes, 'final_bytes': w.final_bytes, 'efficiency': round(w.efficiency, 4),
        'max_wasted_bytes': p.max_wasted_bytes, 'min_efficiency': p.min_efficiency,
        'over_bytes': w.wasted_bytes > p.max_wasted_bytes, 'under_efficiency': w.efficiency < p.min_efficiency,
        'platform': w.os || '/' || w.architecture, 'manifest_digest': w.manifest_digest} AS evidence,
       NULL AS line, NULL AS stage, NULL AS key
FROM scanned w
JOIN params p USING (situation)
WHERE w.wasted_bytes > p.max_wasted_bytes OR w.efficiency < p.min_efficiency
QUALIFY row_number() OVER (PARTITION BY w.subject_id ORDER BY w.wasted_bytes DESC, w.manifest_digest) = 1;
