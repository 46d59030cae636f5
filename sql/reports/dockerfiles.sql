-- Dockerfiles and the multi-stage share per team and week in the window [$1, $2].
SELECT week, team, dockerfiles, multi_stage, multi_stage_share
FROM weekly_dockerfiles WHERE week BETWEEN $1 AND $2 ORDER BY week, team;
