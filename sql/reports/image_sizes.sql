-- Image sizes per team, profile and week in the window [$1, $2].
SELECT week, team, profile, images, within_budget, over_budget, within_budget_share, median_bytes, p90_bytes,
       over_budget_bytes
FROM weekly_image_sizes WHERE week BETWEEN $1 AND $2 ORDER BY week, team, profile;
