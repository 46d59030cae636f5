-- What a policy's SQL reads as `subjects`: this evaluation's subjects, their owner and situation.
CREATE OR REPLACE TEMP TABLE subjects AS
SELECT subject_id, subject_kind, subject, repo, path, service, registry, repository, tag, digest,
       fact_run_id AS run_id, commit_sha, team, profile, situation
FROM eval_subjects WHERE evaluation_id = ?;
