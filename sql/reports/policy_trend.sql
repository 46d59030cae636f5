-- Findings per policy, team and week in the window [$1, $2].
SELECT week, team, policy_id, sum(open) AS open, sum(new) AS new, sum(resolved) AS resolved,
       sum(reopened) AS reopened, sum(waived) AS waived
FROM weekly_findings
WHERE week BETWEEN $1 AND $2
GROUP BY ALL
ORDER BY week, team, policy_id;
