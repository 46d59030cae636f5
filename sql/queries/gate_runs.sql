-- `hullcheck check`: evaluated runs, newest first (by effective_at, as finding_events orders them).
SELECT run_id, effective_at FROM current_evaluations ORDER BY effective_at DESC, run_id DESC;
