-- Findings per team and week in the window [$1, $2] (ISO week strings), summed over policies.
SELECT week, team,
       sum(open) FILTER (severity = 'critical') AS open_critical, sum(open) FILTER (severity = 'error') AS open_error,
       sum(open) FILTER (severity = 'warning') AS open_warning, sum(open) FILTER (severity = 'info') AS open_info,
       sum(open) AS open, sum(new) AS new, sum(resolved) AS resolved, sum(reopened) AS reopened,
       sum(waived) AS waived
FROM weekly_findings
WHERE week BETWEEN $1 AND $2
GROUP BY ALL
ORDER BY week, team;
