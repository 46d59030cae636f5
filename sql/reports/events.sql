-- What changed during week $1: new, reopened, resolved and newly waived findings.
SELECT e.team, e.policy_id, e.severity, e.subject, e.fingerprint, e.change, e.message, r.effective_at
FROM finding_events e JOIN run_weeks r USING (run_id)
WHERE r.week = $1 AND e.change IN ('new', 'reopened', 'resolved', 'waived')
ORDER BY e.team, e.change, e.policy_id, e.subject, e.fingerprint;
