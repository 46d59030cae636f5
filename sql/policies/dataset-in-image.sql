-- dataset-in-image: a COPY/ADD of data sets or models (data_patterns) in a stage that ships; an
-- image whose COPY/ADD step made a layer over max_layer_bytes (the base's rootfs `ADD file:… in /`
-- excepted); an image whose layer scan found data files over max_data_bytes in total.
WITH chain AS (  -- the final stage and the stages it builds on
    SELECT o.subject_id, o.situation, s.run_id, s.repo, s.path, s.stage_index, s.base_kind, s.base_stage_index
    FROM subjects o
    JOIN dockerfile_shipped_stages h ON h.run_id = o.run_id AND h.repo = o.repo AND h.path = o.path
    JOIN dockerfile_stages s
      ON s.run_id = h.run_id AND s.repo = h.repo AND s.path = h.path AND s.stage_index = h.stage_index
    WHERE o.subject_kind = 'dockerfile'
),
copy_forms AS (  -- each source as matched: the path without ./ and trailing /, and its last component
    SELECT c.subject_id, c.situation, x.*,
           list_transform(x.sources, lambda src: {'src': src,
               'clean': regexp_replace(regexp_replace(src, '^\./', ''), '/+$', ''),
               'base': regexp_extract(regexp_replace(src, '/+$', ''), '[^/]*$')}) AS forms
    FROM chain c
    JOIN dockerfile_copies x
      ON x.run_id = c.run_id AND x.repo = c.repo AND x.path = c.path AND x.stage_index = c.stage_index
    WHERE NOT x.is_heredoc
),
copies AS (
    SELECT x.subject_id, x.situation, x.keyword, x.destination, x.from_ref, x.sources, x.is_remote,
           i.start_line, coalesce(s.name, s.stage_index::VARCHAR) AS stage,
           list_transform(list_filter(x.forms, lambda f: list_bool_or(list_transform(p.data_patterns,
               lambda g: f.clean GLOB g OR f.base GLOB g))), lambda f: f.src) AS data_sources
    FROM copy_forms x
    JOIN params p USING (situation)
    JOIN dockerfile_instructions i ON i.run_id = x.run_id AND i.repo = x.repo AND i.path = x.path AND i.seq = x.seq
    JOIN dockerfile_stages s
      ON s.run_id = x.run_id AND s.repo = x.repo AND s.path = x.path AND s.stage_index = x.stage_index
),
layers AS (
    SELECT o.subject_id, o.subject, o.situation, h.os, h.architecture, h.manifest_digest, h.history_index,
           h.layer_size, trim(regexp_replace(h.created_by, '^/bin/sh -c #\(nop\)\s*', '')) AS step
    FROM subjects o
    JOIN image_history h
      ON h.run_id = o.run_id AND h.registry = o.registry AND h.repository = o.repository AND h.tag = o.tag
    WHERE o.subject_kind = 'image' AND NOT coalesce(h.empty_layer, false) AND h.layer_size IS NOT NULL
),
scans AS (
    SELECT o.subject_id, o.subject, o.situation, s.os, s.architecture, s.manifest_digest, s.data_files, s.data_bytes
    FROM subjects o
    JOIN image_files_summary s
      ON s.run_id = o.run_id AND s.registry = o.registry AND s.repository = o.repository AND s.tag = o.tag
    WHERE o.subject_kind = 'image'
)
SELECT c.subject_id, p.severity,
       format('{} at line {} puts data into the image ({}{}): data sets and models belong in a volume',
              c.keyword, c.start_line, array_to_string(c.data_sources, ', '),
              CASE WHEN c.from_ref IS NOT NULL THEN ' from ' || c.from_ref ELSE '' END) AS message,
       {'source': 'Dockerfile', 'data_sources': c.data_sources, 'destination': c.destination, 'from': c.from_ref,
        'remote': c.is_remote, 'layer_bytes': NULL::BIGINT, 'max_bytes': NULL::BIGINT, 'data_files': NULL::VARCHAR[]}
           AS evidence,
       c.start_line AS line, c.stage,
       c.stage || ' ' || c.keyword || ' ' || array_to_string(c.data_sources, ',') || ' ' || coalesce(c.destination, '')
           AS key
FROM copies c
JOIN params p USING (situation)
WHERE len(c.data_sources) > 0
UNION ALL
SELECT l.subject_id, p.severity,
       format('{} ({}/{}): the step `{}` made a {} MB layer, over the {} MB allowed for one COPY/ADD layer',
              l.subject, l.os, l.architecture, left(l.step, 120), round(l.layer_size / 1e6, 1),
              round(p.max_layer_bytes / 1e6, 1)),
       {'source': 'image history', 'data_sources': NULL::VARCHAR[], 'destination': NULL, 'from': NULL,
        'remote': NULL, 'layer_bytes': l.layer_size, 'max_bytes': p.max_layer_bytes, 'data_files': NULL::VARCHAR[]},
       NULL, NULL, 'layer ' || left(l.step, 200)
FROM layers l
JOIN params p USING (situation)
WHERE regexp_matches(l.step, '^(COPY|ADD)\b') AND NOT regexp_matches(l.step, '^ADD file:[0-9a-f]+ in /\s*$')
  AND l.layer_size > p.max_layer_bytes
QUALIFY row_number() OVER (PARTITION BY l.subject_id, l.step ORDER BY l.manifest_digest) = 1
UNION ALL
SELECT x.subject_id, p.severity,
       format('{} ({}/{}) carries {} MB of data-set or model files (layer scan), over the {} MB allowed: {}',
              x.subject, x.os, x.architecture, round(x.data_bytes / 1e6, 1), round(p.max_data_bytes / 1e6, 1),
              array_to_string(x.data_files[1:5], ', ') || CASE WHEN len(x.data_files) > 5 THEN ', …' ELSE '' END),
       {'source': 'layer scan', 'data_sources': NULL::VARCHAR[], 'destination': NULL, 'from': NULL, 'remote': NULL,
        'layer_bytes': x.data_bytes, 'max_bytes': p.max_data_bytes, 'data_files': x.data_files[1:20]},
       NULL, NULL, 'data files'
FROM scans x
JOIN params p USING (situation)
WHERE x.data_bytes > p.max_data_bytes
QUALIFY row_number() OVER (PARTITION BY x.subject_id ORDER BY x.data_bytes DESC, x.manifest_digest) = 1;
