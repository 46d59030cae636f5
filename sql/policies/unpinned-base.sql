-- unpinned-base: a stage built on an external image with no tag, `latest`, or (where the team
-- requires digests) a tag without a digest. ARG defaults are resolved (`FROM $BASE`).
SELECT o.subject_id, p.severity,
       CASE
           WHEN s.base_tag IS NULL THEN format('FROM {} has no tag: it builds on whatever `latest` is that day',
                                               s.base_as_written)
           WHEN s.base_tag = 'latest' THEN format('FROM {} uses the moving tag `latest`', s.base_as_written)
           ELSE format('FROM {} pins a tag but no digest (the team requires digests)', s.base_as_written)
       END AS message,
       {'base_as_written': s.base_as_written, 'base_resolved': s.base_resolved, 'tag': s.base_tag,
        'pin': CASE WHEN s.base_tag IS NULL THEN 'no tag' WHEN s.base_tag = 'latest' THEN 'latest'
                    ELSE 'tag without digest' END,
        'require_digest': p.require_digest} AS evidence,
       s.start_line AS line,
       coalesce(s.name, s.stage_index::VARCHAR) AS stage,
       coalesce(s.name, s.stage_index::VARCHAR) || ' ' || s.base_repository AS key
FROM subjects o
JOIN params p USING (situation)
JOIN dockerfile_stages s ON s.run_id = o.run_id AND s.repo = o.repo AND s.path = o.path
WHERE o.subject_kind = 'dockerfile'
  AND s.base_kind = 'image' AND s.base_digest IS NULL
  AND (s.base_tag IS NULL OR s.base_tag = 'latest' OR p.require_digest);
