-- Which of a team's image tags are largest, and how do they stand against their budget?
-- The newest evaluated week (weekly_images): each tag's largest platform, compressed (what a pull
-- downloads), against the image-size-budget policy's max_bytes for the tag's situation (team and
-- profile: a data-science image may be larger than a microservice). over_by_bytes < 0 is room left;
-- budget_bytes NULL means the policy is disabled for that situation.
-- Parameters: $team, a team of the config (SELECT team FROM teams), or unowned.
-- Run: hullcheck sql -c hullcheck.yaml -f sql/examples/image_sizes_against_budget.sql --param team=payments
SELECT
    image,
    profile,
    compressed_bytes,
    budget_bytes,
    over_by_bytes,
    within_budget,
    formatReadableDecimalSize(compressed_bytes) AS size,
    formatReadableDecimalSize(budget_bytes) AS budget
FROM weekly_images
WHERE team = $team
  AND week_start = (SELECT max(week_start) FROM report_weeks)
ORDER BY compressed_bytes DESC, image;
