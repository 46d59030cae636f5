-- Which Dockerfiles could not be audited, and why?
-- Latest audit: files BuildKit would refuse (parse_error), files that were not read
-- (skipped_reason: too large, binary, a symlink leaving the repository ...), and, should it
-- ever happen, files with neither facts nor a reason.
-- Run: hullcheck sql -c hullcheck.yaml -f sql/examples/dockerfile_parse_errors.sql
SELECT
    repo,
    path,
    CASE
        WHEN skipped_reason IS NOT NULL THEN 'skipped'
        WHEN parse_error IS NOT NULL THEN 'parse error'
        ELSE 'no facts'
    END AS problem,
    coalesce(skipped_reason, parse_error, 'no facts recorded for this blob') AS reason,
    commit_sha
FROM latest_dockerfiles
WHERE skipped_reason IS NOT NULL OR parse_error IS NOT NULL OR stage_count IS NULL
ORDER BY repo, path;
