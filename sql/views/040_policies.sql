-- Public views over policy evaluations (docs/schema.md): findings, ownership, parameters, waivers.
-- A run may be evaluated several times (`hullcheck evaluate`); the views show each committed
-- run's newest evaluation unless they say otherwise.

CREATE OR REPLACE VIEW evaluations AS
SELECT e.evaluation_id, e.run_id, r.effective_at, e.evaluated_at, e.trigger, e.catalog_version, e.config_hash,
       e.tool_version, e.policies, e.subjects, e.findings, e.errors, e.duration_ms,
       e.evaluation_id = max(e.evaluation_id) OVER (PARTITION BY e.run_id) AS is_current
FROM policy_evaluations e
JOIN runs r USING (run_id)
WHERE r.status IN ('ok', 'partial') AND e.findings IS NOT NULL;

CREATE OR REPLACE VIEW current_evaluations AS
SELECT * FROM evaluations WHERE is_current;

CREATE OR REPLACE VIEW latest_evaluation AS
SELECT * FROM current_evaluations ORDER BY effective_at DESC, run_id DESC LIMIT 1;

CREATE OR REPLACE VIEW ownership AS
SELECT e.run_id, e.evaluation_id, s.subject_kind, s.subject, s.team, s.profile, s.decided_by, s.profile_by,
       s.situation, s.repo, s.path, s.service, s.registry, s.repository, s.tag, s.digest, s.fact_run_id
FROM eval_subjects s JOIN current_evaluations e USING (evaluation_id);

CREATE OR REPLACE VIEW latest_ownership AS
SELECT * FROM ownership WHERE evaluation_id = (SELECT evaluation_id FROM latest_evaluation);

CREATE OR REPLACE VIEW teams AS
WITH owned AS (
    SELECT team, count(*) FILTER (subject_kind = 'repo') AS repos_owned,
           count(*) FILTER (subject_kind = 'dockerfile') AS dockerfiles_owned,
           count(*) FILTER (subject_kind = 'compose_service') AS services_owned,
           count(*) FILTER (subject_kind = 'image') AS images_owned
    FROM latest_ownership GROUP BY team
)
SELECT t.team, t.profile, t.email, t.repos AS repo_globs, t.image_globs, t.codeowners,
       coalesce(o.repos_owned, 0) AS repos_owned, coalesce(o.dockerfiles_owned, 0) AS dockerfiles_owned,
       coalesce(o.services_owned, 0) AS services_owned, coalesce(o.images_owned, 0) AS images_owned
FROM (SELECT team, profile, email, repos, images AS image_globs, codeowners FROM eval_teams
      WHERE evaluation_id = (SELECT evaluation_id FROM latest_evaluation)) t
LEFT JOIN owned o USING (team);

CREATE OR REPLACE VIEW policy_params AS
SELECT e.run_id, e.evaluation_id, p.team, p.profile, p.situation AS scope, p.override_index, p.policy_id,
       p."key", p."value", p.value_json, p.source, p.set_by
FROM eval_params p JOIN current_evaluations e USING (evaluation_id);

CREATE OR REPLACE VIEW findings AS
SELECT e.run_id, e.effective_at, e.evaluation_id, f.policy_id, f.severity, s.team, s.profile, s.subject_kind,
       s.subject, s.repo, s.path, f.line, f.stage, s.service,
       CASE WHEN s.subject_kind = 'image' THEN s.registry || '/' || s.repository || ':' || s.tag END AS image,
       s.digest, f.message, f.evidence, pp.params, f.fingerprint, f.waived, f.waiver_reason, f.waiver_expires,
       f.waived_by, e.catalog_version, e.config_hash
FROM eval_findings f
JOIN current_evaluations e USING (evaluation_id)
JOIN eval_subjects s USING (evaluation_id, subject_id)
LEFT JOIN eval_policy_params pp
       ON pp.evaluation_id = f.evaluation_id AND pp.policy_id = f.policy_id AND pp.situation = s.situation;

CREATE OR REPLACE VIEW latest_findings AS
SELECT * FROM findings WHERE evaluation_id = (SELECT evaluation_id FROM latest_evaluation);

CREATE OR REPLACE VIEW policy_errors AS
SELECT e.run_id, e.evaluation_id, x.policy_id, x.error
FROM eval_errors x JOIN current_evaluations e USING (evaluation_id);

-- Per finding (fingerprint) and run: how it changed since the previous evaluated run.
-- new: open now, never seen before; reopened: open now, not open in the previous run but seen
-- earlier (or waived then: an expired waiver reopens); persisting: open in both; resolved: open
-- in the previous run, gone now; waived: open in the previous run, waived now.
CREATE OR REPLACE VIEW finding_events AS
WITH seq AS (
    SELECT run_id, effective_at, evaluation_id,
           lag(run_id) OVER (ORDER BY effective_at, run_id) AS previous_run_id,
           row_number() OVER (ORDER BY effective_at, run_id) AS n
    FROM current_evaluations
),
f AS (SELECT fi.*, seq.n FROM findings fi JOIN seq USING (run_id)),
first_seen AS (SELECT fingerprint, min(n) AS n FROM f GROUP BY fingerprint),
pairs AS (
    SELECT c.run_id, c.previous_run_id, c.n, p.evaluation_id AS previous_evaluation_id
    FROM seq c LEFT JOIN seq p ON p.run_id = c.previous_run_id
),
cur AS (SELECT f.*, pr.previous_run_id FROM f JOIN pairs pr USING (run_id)),
prev AS (SELECT f.*, pr.run_id AS next_run_id FROM f JOIN pairs pr ON f.run_id = pr.previous_run_id),
events AS (
SELECT coalesce(c.run_id, p.next_run_id) AS run_id, coalesce(c.previous_run_id, p.run_id) AS previous_run_id,
       coalesce(c.policy_id, p.policy_id) AS policy_id, coalesce(c.team, p.team) AS team,
       coalesce(c.severity, p.severity) AS severity, coalesce(c.subject, p.subject) AS subject,
       coalesce(c.fingerprint, p.fingerprint) AS fingerprint,
       CASE
           WHEN c.fingerprint IS NULL THEN CASE WHEN p.waived THEN NULL ELSE 'resolved' END
           WHEN c.waived THEN CASE WHEN p.fingerprint IS NOT NULL AND NOT p.waived THEN 'waived' END
           WHEN p.fingerprint IS NOT NULL AND NOT p.waived THEN 'persisting'
           WHEN fs.n < c.n THEN 'reopened'
           ELSE 'new'
       END AS change,
       coalesce(c.message, p.message) AS message
FROM cur c
FULL OUTER JOIN prev p ON p.fingerprint = c.fingerprint AND p.next_run_id = c.run_id
LEFT JOIN first_seen fs ON fs.fingerprint = c.fingerprint
WHERE coalesce(c.run_id, p.next_run_id) IS NOT NULL
)
SELECT * FROM events WHERE change IS NOT NULL;

CREATE OR REPLACE VIEW finding_changes AS
SELECT run_id, any_value(previous_run_id) AS previous_run_id, team, policy_id,
       count(*) FILTER (change = 'new') AS new,
       count(*) FILTER (change = 'resolved') AS resolved,
       count(*) FILTER (change = 'persisting') AS persisting,
       count(*) FILTER (change = 'reopened') AS reopened,
       count(*) FILTER (change = 'waived') AS waived
FROM finding_events
GROUP BY run_id, team, policy_id;

CREATE OR REPLACE VIEW waivers AS
SELECT e.run_id, e.evaluation_id, w.waiver_index, w.policy_id, w.subject, w.team, w.reason, w.author, w.expires,
       w.status, w.matched
FROM eval_waivers w JOIN current_evaluations e USING (evaluation_id);

CREATE OR REPLACE VIEW latest_waivers AS
SELECT * FROM waivers WHERE evaluation_id = (SELECT evaluation_id FROM latest_evaluation);
