-- `policies simulate`: the findings a simulated evaluation computed in its scratch database (the
-- "after" side), in the columns of simulate_stored.sql.
SELECT f.fingerprint, f.policy_id, f.severity, s.team, s.subject, f.message, f.waived
FROM hullcheck_eval.main.final_findings f JOIN hullcheck_eval.main.subjects s USING (subject_id);
