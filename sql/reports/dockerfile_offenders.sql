-- Dockerfiles of week $1 by open findings, most first.
SELECT team, repo, path, findings, serious, worst_severity, policies
FROM weekly_dockerfile_offenders WHERE week = $1
ORDER BY serious DESC, findings DESC, repo, path;
