-- build-env-in-image: a shipped image whose layer scan finds compilers or build tools (less the
-- allowed ones), or, when it was not scanned, whose history installs a toolchain package and does
-- not remove it in the same step. One finding per tag (its first platform with the finding).
WITH scanned AS (
    SELECT o.subject_id, o.subject, o.situation, s.os, s.architecture, s.manifest_digest,
           list_filter(s.toolchains, lambda t: NOT list_contains(p.allowed_tools, t)) AS tools, p.severity
    FROM subjects o
    JOIN params p USING (situation)
    JOIN image_files_summary s
      ON s.run_id = o.run_id AND s.registry = o.registry AND s.repository = o.repository AND s.tag = o.tag
    WHERE o.subject_kind = 'image'
),
steps AS (
    SELECT o.subject_id, o.subject, o.situation, h.os, h.architecture, h.manifest_digest, h.history_index,
           h.created_by, p.severity,
           list_filter(p.toolchain_markers,
                       lambda m: regexp_matches(h.created_by,
                                                '(^|[\s''"=])' || regexp_escape(m) || '(-[0-9.]+)?($|[\s''";&|=])'))
               AS markers
    FROM subjects o
    JOIN params p USING (situation)
    JOIN image_history h
      ON h.run_id = o.run_id AND h.registry = o.registry AND h.repository = o.repository AND h.tag = o.tag
    WHERE o.subject_kind = 'image' AND NOT EXISTS (SELECT 1 FROM scanned x WHERE x.subject_id = o.subject_id)
      AND regexp_matches(coalesce(h.created_by, ''),
                         '\b(apt-get|apt|yum|dnf|microdnf|zypper)\b[^;&|]*\binstall\b|\bapk\b[^;&|]*\badd\b')
      AND NOT regexp_matches(h.created_by, '\b(apt-get|apt)\s+(-\S+\s+)*(purge|remove|autoremove)\b|--auto-remove'
                                           || '|\bapk\s+(-\S+\s+)*del\b|\b(yum|dnf|microdnf)\s+(-\S+\s+)*(remove|erase|autoremove)\b')
)
SELECT x.subject_id, x.severity,
       format('{} ({}/{}) ships build tools (layer scan): {}', x.subject, x.os, x.architecture,
              array_to_string(x.tools, ', ')) AS message,
       {'source': 'layer scan', 'tools': x.tools, 'step': NULL, 'platform': x.os || '/' || x.architecture} AS evidence,
       NULL::INTEGER AS line, NULL::VARCHAR AS stage, NULL::VARCHAR AS key
FROM scanned x
WHERE len(x.tools) > 0
QUALIFY row_number() OVER (PARTITION BY x.subject_id ORDER BY x.manifest_digest) = 1
UNION ALL
SELECT s.subject_id, s.severity,
       format('{} ({}/{}) installs {} in build step {} and never removes it in that step (image not layer-scanned): {}',
              s.subject, s.os, s.architecture, array_to_string(s.markers, ', '), s.history_index,
              left(s.created_by, 160)),
       {'source': 'image history', 'tools': s.markers, 'step': left(s.created_by, 300),
        'platform': s.os || '/' || s.architecture},
       NULL, NULL, array_to_string(s.markers, ',')  -- the tools installed tell two steps apart, not their position
FROM steps s
WHERE len(s.markers) > 0
QUALIFY row_number() OVER (PARTITION BY s.subject_id ORDER BY s.manifest_digest, s.history_index) = 1;
