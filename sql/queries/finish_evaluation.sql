UPDATE policy_evaluations
SET policies = ?, subjects = ?, findings = ?, errors = ?, duration_ms = ?
WHERE evaluation_id = ?;
