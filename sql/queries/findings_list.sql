-- `hullcheck findings`: the findings of one run (default: the newest evaluated run), filtered;
-- a NULL parameter means no filter. $6: only findings new in that run (finding_events).
WITH chosen AS (
    SELECT coalesce(?::BIGINT, (SELECT run_id FROM latest_evaluation)) AS run_id
)
SELECT f.fingerprint, f.severity, f.policy_id, f.team, f.profile, f.subject, f.line, f.message, f.waived,
       f.waiver_reason, f.run_id
FROM findings f, chosen c
WHERE f.run_id = c.run_id
  AND (?::VARCHAR IS NULL OR f.team = ?)
  AND (?::VARCHAR IS NULL OR f.policy_id = ?)
  AND list_position(['info', 'warning', 'error', 'critical'], f.severity)
      >= list_position(['info', 'warning', 'error', 'critical'], coalesce(?::VARCHAR, 'info'))
  AND (NOT ?::BOOLEAN OR f.fingerprint IN (
        SELECT fingerprint FROM finding_events e WHERE e.run_id = c.run_id AND e.change IN ('new', 'reopened')))
  AND (?::BOOLEAN OR NOT f.waived)
ORDER BY list_position(['info', 'warning', 'error', 'critical'], f.severity) DESC, f.team, f.policy_id, f.subject,
         f.line;
