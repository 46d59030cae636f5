SELECT waiver_index, status, policy_id, subject, team, expires, matched, author, reason
FROM latest_waivers ORDER BY list_position(['expired', 'expiring', 'stale', 'active'], status), expires;
