UPDATE audit_runs
SET status = 'partial', message = concat_ws('; ', message, ?)
WHERE run_id = ?;
