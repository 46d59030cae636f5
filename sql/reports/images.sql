-- Every image tag of week $1 against its budget, the largest excess first.
SELECT team, profile, image, compressed_bytes, budget_bytes, over_by_bytes, within_budget
FROM weekly_images WHERE week = $1
ORDER BY over_by_bytes DESC NULLS LAST, compressed_bytes DESC, image;
