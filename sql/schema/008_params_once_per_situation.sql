-- The parameters that applied are the same for every finding of one policy in one situation: kept
-- once per (evaluation, policy, situation) instead of on every finding row (at 40,000 findings the
-- repeats were half of what an evaluation wrote). The `findings` view joins them back: its columns
-- do not change.

CREATE TABLE eval_policy_params (
    evaluation_id BIGINT NOT NULL,
    policy_id     VARCHAR NOT NULL,
    situation     VARCHAR NOT NULL,
    params        JSON NOT NULL
);

INSERT INTO eval_policy_params
SELECT DISTINCT f.evaluation_id, f.policy_id, s.situation, f.params
FROM eval_findings f JOIN eval_subjects s USING (evaluation_id, subject_id)
WHERE f.params IS NOT NULL;

ALTER TABLE eval_findings DROP COLUMN params;
