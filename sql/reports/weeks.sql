-- Every report week, newest first.
SELECT week, week_start, week_end, run_id, evaluation_id, effective_at, runs FROM report_weeks ORDER BY week DESC;
