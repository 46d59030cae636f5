SELECT min(effective_at), count(DISTINCT run_id) FROM findings WHERE fingerprint = ? AND NOT waived;
