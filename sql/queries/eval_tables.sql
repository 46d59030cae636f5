-- What the policies found, in the evaluation's scratch database (store_scratch.py): its worker
-- cursors add each policy's rows side by side, and eval_write_findings.sql reads them.
CREATE OR REPLACE TABLE hullcheck_eval.main.policy_findings (
    policy_id VARCHAR, severity VARCHAR, subject_id INTEGER, line INTEGER, stage VARCHAR,
    message VARCHAR, evidence VARCHAR, fkey VARCHAR
);
