-- Which images run as root: final stages with no USER at all, or USER root / USER 0?
-- Latest audit. A USER set in an earlier stage the final stage builds on counts (final_user is
-- inherited). With no USER the base image's default user applies: root for most images, but
-- some images set their own (reason = 'no USER' means "check the base image").
-- Run: hullcheck sql -c hullcheck.yaml -f sql/examples/root_final_stage.sql
SELECT
    repo,
    path,
    stage_index,
    base_as_written,
    final_user,
    CASE WHEN final_user IS NULL THEN 'no USER' ELSE 'USER root' END AS reason
FROM latest_dockerfile_stages
WHERE is_final
  AND (final_user IS NULL OR lower(trim(split_part(final_user, ':', 1))) IN ('root', '0'))
ORDER BY repo, path;
