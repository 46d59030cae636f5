-- `policies simulate`: the evaluated runs since $1 (a moment; NULL: all), with their ISO week and what
-- their current evaluation was made with; $2: every run (else only the last run of each ISO week, the
-- one the weekly views show).
SELECT w.run_id, w.effective_at, w.week, e.catalog_version, e.config_hash
FROM run_weeks w JOIN current_evaluations e USING (run_id)
WHERE $1::TIMESTAMPTZ IS NULL OR w.effective_at >= $1
QUALIFY $2::BOOLEAN OR row_number() OVER (PARTITION BY w.week ORDER BY w.effective_at DESC, w.run_id DESC) = 1
ORDER BY w.effective_at, w.run_id;
