-- What the pruned runs observed, and their evaluations (every eval_* row hangs off one).
CREATE OR REPLACE TEMP TABLE prune_evaluations AS
SELECT evaluation_id FROM policy_evaluations WHERE run_id IN (SELECT run_id FROM prune_runs);
DELETE FROM eval_teams WHERE evaluation_id IN (SELECT evaluation_id FROM prune_evaluations);
DELETE FROM eval_subjects WHERE evaluation_id IN (SELECT evaluation_id FROM prune_evaluations);
DELETE FROM eval_params WHERE evaluation_id IN (SELECT evaluation_id FROM prune_evaluations);
DELETE FROM eval_policy_params WHERE evaluation_id IN (SELECT evaluation_id FROM prune_evaluations);
DELETE FROM eval_findings WHERE evaluation_id IN (SELECT evaluation_id FROM prune_evaluations);
DELETE FROM eval_errors WHERE evaluation_id IN (SELECT evaluation_id FROM prune_evaluations);
DELETE FROM eval_waivers WHERE evaluation_id IN (SELECT evaluation_id FROM prune_evaluations);
DELETE FROM policy_evaluations WHERE evaluation_id IN (SELECT evaluation_id FROM prune_evaluations);
DELETE FROM git_snapshots WHERE run_id IN (SELECT run_id FROM prune_runs);
DELETE FROM registry_snapshots WHERE run_id IN (SELECT run_id FROM prune_runs);
DELETE FROM audit_runs WHERE run_id IN (SELECT run_id FROM prune_runs);
