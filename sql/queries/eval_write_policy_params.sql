-- Reads the scratch tables of the evaluation (hullcheck_eval, store_scratch.py) its workers made.
-- The parameters of each policy in each situation of evaluation $1, as the `params` of its findings.
INSERT INTO eval_policy_params
SELECT $1, policy_id, situation, params FROM hullcheck_eval.main.params_json;
