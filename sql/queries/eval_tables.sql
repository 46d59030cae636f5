-- The evaluation's working tables (connection-local, inside its one transaction): what the
-- policies found, and what waives it. Filled by the engine, read by eval_write_*.sql.
CREATE OR REPLACE TEMP TABLE policy_findings (
    policy_id VARCHAR, severity VARCHAR, subject_id INTEGER, line INTEGER, stage VARCHAR,
    message VARCHAR, evidence VARCHAR, fkey VARCHAR
);
CREATE OR REPLACE TEMP TABLE policy_meta (policy_id VARCHAR, hadolint VARCHAR[]);
CREATE OR REPLACE TEMP TABLE params_json (policy_id VARCHAR, situation VARCHAR, params VARCHAR);
CREATE OR REPLACE TEMP TABLE config_waivers (
    waiver_index INTEGER, policy_id VARCHAR, subject VARCHAR, team VARCHAR, reason VARCHAR, author VARCHAR,
    expires DATE
);
CREATE OR REPLACE TEMP TABLE pragmas (repo VARCHAR, path VARCHAR, line INTEGER, codes VARCHAR[]);
