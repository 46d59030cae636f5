UPDATE audit_runs
SET status = ?, finished_at = now(), repos_total = ?, repos_extracted = ?, repos_unchanged = ?,
    repos_failed = ?, message = ?
WHERE run_id = ?;
