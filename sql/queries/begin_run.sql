INSERT INTO audit_runs (run_id, started_at, status, as_of, config_hash, config_path, tool_version, only_repos)
VALUES (nextval('audit_run_ids'), now(), 'running', ?, ?, ?, ?, ?)
RETURNING run_id;
