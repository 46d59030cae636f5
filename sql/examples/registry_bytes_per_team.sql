-- How much registry storage does each team's images take?
-- The newest evaluated week (weekly_registry_bytes): each layer blob counted once per registry, as a
-- registry stores it; a blob several teams' images share is split evenly among them, so the teams'
-- attributed_bytes add up to the org's. exclusive_bytes: blobs only this team's images use (what
-- deleting its images would free); shared_bytes: blobs other teams use too.
-- Run: hullcheck sql -c hullcheck.yaml -f sql/examples/registry_bytes_per_team.sql
SELECT
    week,
    team,
    attributed_bytes::BIGINT AS attributed_bytes,
    round(attributed_bytes / nullif(org_bytes, 0), 3) AS share_of_org,
    exclusive_bytes,
    shared_bytes,
    referenced_bytes,
    formatReadableDecimalSize(attributed_bytes::BIGINT) AS attributed
FROM weekly_registry_bytes
WHERE week_start = (SELECT max(week_start) FROM report_weeks)
ORDER BY attributed_bytes DESC, team;
