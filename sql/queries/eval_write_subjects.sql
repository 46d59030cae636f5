-- Reads the scratch tables of the evaluation (hullcheck_eval, store_scratch.py) its workers made.
INSERT INTO eval_subjects
SELECT $1, subject_id, subject_kind, subject, repo, path, service, registry, repository, tag, digest, run_id,
       commit_sha, team, profile, situation, decided_by, profile_by
FROM hullcheck_eval.main.subjects;
