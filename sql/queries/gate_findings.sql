-- `hullcheck check`: the open (not waived) findings of run $1, only team $2 and repository $3
-- when given (NULL: all). What the gate compares between a run and its baseline.
SELECT fingerprint, severity, policy_id, team, subject_kind, subject, repo, path, line, message
FROM findings
WHERE run_id = $1 AND NOT waived
  AND ($2::VARCHAR IS NULL OR team = $2) AND ($3::VARCHAR IS NULL OR repo = $3)
ORDER BY list_position(['info', 'warning', 'error', 'critical'], severity) DESC, policy_id, subject, line;
