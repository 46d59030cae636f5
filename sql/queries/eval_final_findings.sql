-- A worker's step before the writer's transaction (store_scratch.py): the evaluation's findings as
-- stored, in scratch table `final_findings` (eval_write_findings copies it; `policies simulate`
-- reads it), on day $1: fingerprint (policy, subject, the policy's key: never a
-- line) and the waiver that applies: the first active config waiver
-- (by its place in the config) whose policy, team and subject glob match, else a `# hadolint
-- ignore=` pragma on the finding's instruction (or `global`) naming an equivalent rule.
CREATE OR REPLACE TABLE hullcheck_eval.main.final_findings AS
WITH f AS (
    SELECT f.rowid AS fid, f.*, s.subject_kind, s.subject, s.team, s.situation, s.repo, s.path
    FROM hullcheck_eval.main.policy_findings f JOIN hullcheck_eval.main.subjects s USING (subject_id)
),
by_config AS (
    SELECT f.fid, arg_min(w.waiver_index, w.waiver_index) AS waiver_index
    FROM f JOIN hullcheck_eval.main.config_waivers w
      ON w.policy_id = f.policy_id AND (w.team IS NULL OR w.team = f.team) AND f.subject GLOB w.subject
    WHERE w.expires >= $1
    GROUP BY f.fid
),
by_pragma AS (
    SELECT f.fid, min(p.line) AS line, list_sort(list_distinct(flatten(list(list_intersect(p.codes, m.hadolint)))))
               AS codes
    FROM f
    JOIN hullcheck_eval.main.policy_meta m USING (policy_id)
    JOIN hullcheck_eval.main.pragmas p ON p.repo = f.repo AND p.path = f.path AND (p.line = 0 OR p.line = f.line)
    WHERE f.subject_kind = 'dockerfile' AND len(list_intersect(p.codes, m.hadolint)) > 0
    GROUP BY f.fid
)
SELECT f.policy_id, f.severity, f.subject_id, f.line, f.stage, f.message, f.evidence,
       substr(sha256(concat_ws(chr(31), f.policy_id, f.subject_kind, f.subject, coalesce(f.fkey, ''))), 1, 20)
           AS fingerprint,
       w.waiver_index IS NOT NULL OR p.fid IS NOT NULL AS waived,
       CASE WHEN w.waiver_index IS NOT NULL THEN cw.reason WHEN p.fid IS NOT NULL THEN 'hadolint pragma' END AS waiver_reason,
       cw.expires AS waiver_expires,
       CASE WHEN w.waiver_index IS NOT NULL THEN format('config waivers[{}] by {}', cw.waiver_index, cw.author)
            WHEN p.fid IS NOT NULL THEN format('# hadolint ignore={} ({} {})', array_to_string(p.codes, ','), f.path,
                                               CASE WHEN p.line = 0 THEN 'global ignore' ELSE 'line ' || p.line END)
       END AS waived_by
FROM f
LEFT JOIN by_config w USING (fid)
LEFT JOIN hullcheck_eval.main.config_waivers cw ON cw.waiver_index = w.waiver_index
LEFT JOIN by_pragma p ON p.fid = f.fid AND w.waiver_index IS NULL;
