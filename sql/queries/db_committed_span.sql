SELECT min(effective_at), max(effective_at) FROM runs WHERE status IN ('ok', 'partial');
