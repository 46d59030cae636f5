-- Which repositories build only single-stage images (no multi-stage build anywhere)?
-- Latest audit; a repository is listed when every Dockerfile that parsed has exactly one stage.
-- Files that failed to parse or were skipped are ignored (see dockerfile_parse_errors.sql).
-- Run: hullcheck sql -c hullcheck.yaml -f sql/examples/single_stage_repos.sql
SELECT
    repo,
    count(*) AS dockerfiles,
    list_sort(list(path)) AS paths
FROM latest_dockerfiles
WHERE stage_count > 0
GROUP BY repo
HAVING bool_and(stage_count = 1)
ORDER BY repo;
