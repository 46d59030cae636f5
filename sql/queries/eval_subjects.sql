-- The evaluation's subjects, as policies read them: the facts of each joined with the owner and
-- profile the engine decided (sent as one decision id per subject: a few distinct decisions).
CREATE OR REPLACE TABLE hullcheck_eval.main.subjects AS
SELECT f.subject_id, f.subject_kind, f.subject, f.repo, f.path, f.service, f.registry, f.repository, f.tag,
       f.digest, f.run_id, f.commit_sha, d.team, d.profile, d.situation, d.decided_by, d.profile_by
FROM subject_facts f
JOIN subject_decisions USING (subject_id)
JOIN decisions d USING (decision_id)
ORDER BY f.subject_id;
