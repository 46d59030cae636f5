SELECT run_id FROM prune_runs ORDER BY run_id;
