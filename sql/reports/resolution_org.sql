-- Time to resolve over the whole org per week in the window [$1, $2] (not an average of team averages).
SELECT week, count(*) AS resolved, avg(days_to_resolve) AS mean_days_to_resolve,
       median(days_to_resolve) AS median_days_to_resolve
FROM finding_resolutions WHERE week BETWEEN $1 AND $2 GROUP BY week ORDER BY week;
