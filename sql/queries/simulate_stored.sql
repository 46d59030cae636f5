-- `policies simulate`: the findings of run $1's current evaluation (the "before" side), waived ones included.
SELECT fingerprint, policy_id, severity, team, subject, message, waived
FROM findings WHERE run_id = $1;
