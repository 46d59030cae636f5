-- Reads the scratch tables of the evaluation (hullcheck_eval, store_scratch.py) its workers made.
-- Each config waiver as evaluation $1 on day $2 found it: how many findings it matches (an
-- expired waiver still counts what it would match), and its status.
INSERT INTO eval_waivers
SELECT $1, w.waiver_index, w.policy_id, w.subject, w.team, w.reason, w.author, w.expires,
       CASE WHEN w.expires < $2 THEN 'expired'
            WHEN count(f.subject_id) = 0 THEN 'stale'
            WHEN w.expires <= $2 + INTERVAL 14 DAY THEN 'expiring'
            ELSE 'active' END,
       count(f.subject_id)
FROM hullcheck_eval.main.config_waivers w
LEFT JOIN (SELECT pf.policy_id, s.subject, s.team, s.subject_id
           FROM hullcheck_eval.main.policy_findings pf JOIN hullcheck_eval.main.subjects s USING (subject_id)) f
  ON f.policy_id = w.policy_id AND (w.team IS NULL OR w.team = f.team) AND f.subject GLOB w.subject
GROUP BY w.waiver_index, w.policy_id, w.subject, w.team, w.reason, w.author, w.expires;
