-- What does a team have open now, policy by policy, most severe first?
-- The newest evaluation (latest_findings), waived findings left out. `hullcheck findings --team T`
-- lists them one by one; `hullcheck explain FINGERPRINT` says why one fired.
-- Parameters: $team, a team of the config (SELECT team FROM teams), or unowned.
-- Run: hullcheck sql -c hullcheck.yaml -f sql/examples/open_findings_of_team.sql --param team=payments
SELECT
    policy_id,
    severity,
    count(*) AS findings,
    list_sort(list(DISTINCT subject))[1:5] AS subjects
FROM latest_findings
WHERE team = $team AND NOT waived
GROUP BY policy_id, severity
ORDER BY
    CASE severity WHEN 'critical' THEN 0 WHEN 'error' THEN 1 WHEN 'warning' THEN 2 ELSE 3 END,
    findings DESC,
    policy_id;
