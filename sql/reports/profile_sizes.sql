-- Median and p90 image size per profile and week in the window [$1, $2] (over every team's images).
SELECT week, profile, count(*) AS images, median(compressed_bytes)::BIGINT AS median_bytes,
       quantile_cont(compressed_bytes, 0.9)::BIGINT AS p90_bytes,
       count(*) FILTER (within_budget) AS within_budget, count(*) FILTER (NOT within_budget) AS over_budget
FROM weekly_images WHERE week BETWEEN $1 AND $2 GROUP BY ALL ORDER BY week, profile;
