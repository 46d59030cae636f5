SELECT run_id FROM runs WHERE status IN ('ok', 'partial') ORDER BY effective_at DESC, run_id DESC LIMIT 1;
