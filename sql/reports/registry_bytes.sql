-- Registry bytes per team and week in the window [$1, $2], each layer blob counted once.
SELECT week, team, referenced_bytes, exclusive_bytes, shared_bytes, attributed_bytes, org_bytes, over_budget_bytes
FROM weekly_registry_bytes WHERE week BETWEEN $1 AND $2 ORDER BY week, team;
