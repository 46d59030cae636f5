-- A run's findings new and resolved per team, against the evaluated run before it (finding_changes).
SELECT team, sum(new + reopened)::BIGINT AS new, sum(resolved)::BIGINT AS resolved
FROM finding_changes WHERE run_id = $1 GROUP BY team ORDER BY team;
