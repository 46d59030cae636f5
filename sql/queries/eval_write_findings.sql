-- Findings of evaluation $1: the scratch table a worker computed (eval_final_findings.sql: fingerprints
-- and waivers), copied in the writer's transaction.
INSERT INTO eval_findings
SELECT $1, policy_id, severity, subject_id, line, stage, message, evidence, fingerprint, waived, waiver_reason,
       waiver_expires, waived_by
FROM hullcheck_eval.main.final_findings;
