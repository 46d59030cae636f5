-- The findings of evaluation $1 (a week's last run), with how the owner and profile were decided
-- and since when each finding has been open.
WITH opened AS (
    SELECT e.fingerprint, max(r.effective_at) AS open_since
    FROM finding_events e JOIN run_weeks r USING (run_id)
    WHERE e.change IN ('new', 'reopened') AND r.effective_at <= (SELECT effective_at FROM current_evaluations
                                                                 WHERE evaluation_id = $1)
    GROUP BY e.fingerprint
)
SELECT f.fingerprint, f.policy_id, f.severity, f.team, f.profile, f.subject_kind, f.subject, f.repo, f.path,
       f.line, f.stage, f.service, f.image, f.message, f.evidence, f.params, f.waived, f.waiver_reason,
       f.waiver_expires, f.waived_by, o.situation, o.decided_by, o.profile_by, op.open_since
FROM findings f
LEFT JOIN ownership o ON o.evaluation_id = f.evaluation_id AND o.subject_kind = f.subject_kind AND o.subject = f.subject
LEFT JOIN opened op USING (fingerprint)
WHERE f.evaluation_id = $1
ORDER BY CASE f.severity WHEN 'critical' THEN 0 WHEN 'error' THEN 1 WHEN 'warning' THEN 2 ELSE 3 END,
         f.team, f.policy_id, f.subject, f.line NULLS FIRST, f.fingerprint;
