-- upx-compressed: a Dockerfile RUN that invokes upx (in any stage: the packed binary is usually
-- copied into the final stage), or an image whose layer scan finds UPX-packed ELF files (else a
-- history step invoking upx, for images that were not scanned).
WITH upx_runs AS (
    SELECT o.subject_id, o.situation, i.start_line, coalesce(s.name, i.stage_index::VARCHAR) AS stage,
           s.is_final, regexp_extract(i.text, '(/usr/(local/)?bin/)?upx(\s+[^;&|\n\\]*)?', 0) AS command
    FROM subjects o
    JOIN dockerfile_instructions i ON i.run_id = o.run_id AND i.repo = o.repo AND i.path = o.path
    JOIN dockerfile_stages s
      ON s.run_id = i.run_id AND s.repo = i.repo AND s.path = i.path AND s.stage_index = i.stage_index
    WHERE o.subject_kind = 'dockerfile' AND i.keyword = 'RUN'
      -- upx in command position (start, after ; & | ( or a line break), or the first word of the JSON form
      AND (regexp_matches(i.text, '(^RUN(\s+--\S+)*|[;&|(\n])\s*(/usr/(local/)?bin/)?upx(\s|$)')
           OR (i.is_json AND regexp_matches(coalesce(i.arguments[1], ''), '^(/usr/(local/)?bin/)?upx$')))
),
scanned AS (
    SELECT o.subject_id, o.subject, o.situation, s.os, s.architecture, s.manifest_digest, s.upx_files
    FROM subjects o
    JOIN image_files_summary s
      ON s.run_id = o.run_id AND s.registry = o.registry AND s.repository = o.repository AND s.tag = o.tag
    WHERE o.subject_kind = 'image'
),
history AS (  -- images without a layer scan: a build step that ran upx
    SELECT o.subject_id, o.subject, o.situation, h.os, h.architecture, h.manifest_digest, h.created_by
    FROM subjects o
    JOIN image_history h
      ON h.run_id = o.run_id AND h.registry = o.registry AND h.repository = o.repository AND h.tag = o.tag
    WHERE o.subject_kind = 'image'
      AND regexp_matches(coalesce(h.created_by, ''), '(-c\s+|[;&|(\n]\s*)(/usr/(local/)?bin/)?upx(\s|$)')
      AND NOT EXISTS (SELECT 1 FROM scanned x WHERE x.subject_id = o.subject_id)
)
SELECT u.subject_id, p.severity,
       format('RUN at line {} packs a binary with UPX ({}){}: layers are already compressed for the pull, and every '
              || 'container start pays the decompression', u.start_line, trim(u.command),
              CASE WHEN u.is_final THEN '' ELSE format(' in stage {}', u.stage) END) AS message,
       {'source': 'Dockerfile', 'command': trim(u.command), 'files': NULL::VARCHAR[], 'platform': NULL} AS evidence,
       u.start_line AS line, u.stage, u.stage || ' upx' AS key
FROM upx_runs u
JOIN params p USING (situation)
UNION ALL
SELECT x.subject_id, p.severity,
       format('{} ({}/{}) ships {} UPX-packed executable(s): {}', x.subject, x.os, x.architecture, len(x.upx_files),
              array_to_string(x.upx_files[1:5], ', ') || CASE WHEN len(x.upx_files) > 5 THEN ', …' ELSE '' END),
       {'source': 'layer scan', 'command': NULL, 'files': x.upx_files, 'platform': x.os || '/' || x.architecture},
       NULL, NULL, NULL
FROM scanned x
JOIN params p USING (situation)
WHERE len(x.upx_files) > 0
QUALIFY row_number() OVER (PARTITION BY x.subject_id ORDER BY len(x.upx_files) DESC, x.manifest_digest) = 1
UNION ALL
SELECT h.subject_id, p.severity,
       format('{} ({}/{}) was built with a step that runs UPX (image not layer-scanned): {}', h.subject, h.os,
              h.architecture, left(h.created_by, 160)),
       {'source': 'image history', 'command': left(h.created_by, 200), 'files': NULL::VARCHAR[],
        'platform': h.os || '/' || h.architecture},
       NULL, NULL, NULL
FROM history h
JOIN params p USING (situation)
QUALIFY row_number() OVER (PARTITION BY h.subject_id ORDER BY h.manifest_digest) = 1;
