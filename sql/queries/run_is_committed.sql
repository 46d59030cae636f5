SELECT count(*) FROM runs WHERE run_id = ? AND status IN ('ok', 'partial');
