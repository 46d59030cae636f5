-- Resolved findings and time to resolve per team and week in the window [$1, $2].
SELECT week, team, resolved, mean_days_to_resolve, median_days_to_resolve
FROM weekly_resolution WHERE week BETWEEN $1 AND $2 ORDER BY week, team;
