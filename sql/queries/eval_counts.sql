SELECT severity, count(*) FILTER (NOT waived), count(*) FILTER (waived)
FROM eval_findings WHERE evaluation_id = ? GROUP BY severity;
