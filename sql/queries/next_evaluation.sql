INSERT INTO policy_evaluations (evaluation_id, run_id, evaluated_at, trigger, catalog_version, config_hash, tool_version)
VALUES (nextval('evaluation_ids'), ?, now(), ?, ?, ?, ?)
RETURNING evaluation_id;
