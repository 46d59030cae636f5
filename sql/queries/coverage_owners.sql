-- Per repository and per image repository (registry/repository) of evaluation $1: a team that owns
-- some of it, else 'unowned' (for the audit summary's warnings: team globs that match nothing, and
-- what no team owns). A repository counts as owned when any of its subjects (the repository, a
-- Dockerfile, a Compose service) is: CODEOWNERS may give a team its files only.
SELECT 'repo' AS kind, repo AS name,
       coalesce(min(team) FILTER (team <> 'unowned'), 'unowned') AS owner
FROM eval_subjects
WHERE evaluation_id = $1 AND repo IS NOT NULL AND subject_kind <> 'image'
GROUP BY repo
UNION ALL
SELECT 'image', registry || '/' || repository,
       coalesce(min(team) FILTER (team <> 'unowned'), 'unowned')
FROM eval_subjects
WHERE evaluation_id = $1 AND subject_kind = 'image'
GROUP BY registry, repository
ORDER BY kind, name;
