-- Trend views (docs/schema.md, "Trends"): per team and ISO week of `effective_at` (in UTC), built on
-- the public views only. A week is represented by its last evaluated run (its state at the end of
-- the week); its events (new, resolved, ...) are those of every evaluated run inside the week.

CREATE OR REPLACE VIEW report_weeks AS
WITH e AS (
    SELECT run_id, evaluation_id, effective_at,
           strftime(timezone('UTC', effective_at), '%G-W%V') AS week,
           date_trunc('week', timezone('UTC', effective_at))::DATE AS week_start
    FROM current_evaluations
)
SELECT week, week_start, (week_start + 6)::DATE AS week_end, run_id, evaluation_id, effective_at,
       count(*) OVER (PARTITION BY week) AS runs
FROM e
QUALIFY row_number() OVER (PARTITION BY week ORDER BY effective_at DESC, run_id DESC) = 1;

-- Which week every evaluated run belongs to (not only the week's last).
CREATE OR REPLACE VIEW run_weeks AS
SELECT run_id, evaluation_id, effective_at, strftime(timezone('UTC', effective_at), '%G-W%V') AS week
FROM current_evaluations;

CREATE OR REPLACE VIEW weekly_findings AS
WITH state AS (  -- the findings of the week's last run
    SELECT w.week, f.team, f.policy_id, f.severity,
           count(*) FILTER (NOT f.waived) AS open, count(*) FILTER (f.waived) AS waived
    FROM report_weeks w JOIN findings f USING (evaluation_id)
    GROUP BY ALL
),
moves AS (  -- what happened during the week
    SELECT r.week, e.team, e.policy_id, e.severity,
           count(*) FILTER (e.change = 'new') AS new,
           count(*) FILTER (e.change = 'resolved') AS resolved,
           count(*) FILTER (e.change = 'reopened') AS reopened,
           count(*) FILTER (e.change = 'waived') AS newly_waived
    FROM finding_events e JOIN run_weeks r USING (run_id)
    GROUP BY ALL
)
SELECT w.week, w.week_start, coalesce(s.team, m.team) AS team, coalesce(s.policy_id, m.policy_id) AS policy_id,
       coalesce(s.severity, m.severity) AS severity,
       coalesce(s.open, 0) AS open, coalesce(m.new, 0) AS new, coalesce(m.resolved, 0) AS resolved,
       coalesce(m.reopened, 0) AS reopened, coalesce(s.waived, 0) AS waived,
       coalesce(m.newly_waived, 0) AS newly_waived
FROM state s
FULL OUTER JOIN moves m USING (week, team, policy_id, severity)
JOIN report_weeks w ON w.week = coalesce(s.week, m.week);

-- Time to resolve: each resolved finding, from the run in which it last opened (new or reopened)
-- to the run in which it was gone, in days of effective_at.
CREATE OR REPLACE VIEW finding_resolutions AS
WITH ev AS (
    SELECT e.*, r.effective_at, r.week FROM finding_events e JOIN run_weeks r USING (run_id)
),
resolved AS (SELECT * FROM ev WHERE change = 'resolved'),
opened AS (SELECT fingerprint, effective_at FROM ev WHERE change IN ('new', 'reopened')),
paired AS (
    SELECT r.week, r.run_id, r.team, r.policy_id, r.severity, r.subject, r.fingerprint,
           max(o.effective_at) AS opened_at, r.effective_at AS resolved_at
    FROM resolved r
    JOIN opened o ON o.fingerprint = r.fingerprint AND o.effective_at < r.effective_at
    GROUP BY ALL
)
SELECT *, epoch(resolved_at - opened_at) / 86400.0 AS days_to_resolve FROM paired;

CREATE OR REPLACE VIEW weekly_resolution AS
SELECT w.week, w.week_start, x.team, count(*) AS resolved,
       avg(x.days_to_resolve) AS mean_days_to_resolve, median(x.days_to_resolve) AS median_days_to_resolve
FROM finding_resolutions x JOIN report_weeks w USING (week)
GROUP BY ALL;

CREATE OR REPLACE VIEW weekly_dockerfiles AS
WITH stages AS (
    SELECT run_id, repo, path, count(*) AS stages FROM dockerfile_stages GROUP BY ALL
)
SELECT w.week, w.week_start, o.team, count(*) AS dockerfiles,
       count(*) FILTER (coalesce(s.stages, 0) >= 2) AS multi_stage,
       round(count(*) FILTER (coalesce(s.stages, 0) >= 2) / count(*), 4) AS multi_stage_share
FROM report_weeks w
JOIN ownership o ON o.evaluation_id = w.evaluation_id AND o.subject_kind = 'dockerfile'
LEFT JOIN stages s ON s.run_id = o.fact_run_id AND s.repo = o.repo AND s.path = o.path
GROUP BY ALL;

-- One row per week and image tag: its size (the largest platform's compressed bytes, as the
-- image-size-budget policy measures it) against the budget of its situation.
CREATE OR REPLACE VIEW weekly_images AS
WITH sized AS (
    SELECT m.run_id, m.registry, m.repository, m.tag, max(m.compressed_bytes) AS compressed_bytes
    FROM image_manifests m GROUP BY ALL
),
budget AS (
    SELECT evaluation_id, scope AS situation,
           max(TRY_CAST(value_json AS BIGINT)) FILTER ("key" = 'max_bytes') AS budget_bytes,
           bool_or(value_json = 'true') FILTER ("key" = 'enabled') AS enabled
    FROM policy_params WHERE policy_id = 'image-size-budget'
    GROUP BY ALL
)
SELECT w.week, w.week_start, o.team, o.profile, o.situation, o.subject AS image, o.registry, o.repository, o.tag,
       o.digest, o.fact_run_id, z.compressed_bytes, CASE WHEN b.enabled THEN b.budget_bytes END AS budget_bytes,
       CASE WHEN b.enabled THEN z.compressed_bytes - b.budget_bytes END AS over_by_bytes,
       CASE WHEN b.enabled THEN z.compressed_bytes <= b.budget_bytes END AS within_budget
FROM report_weeks w
JOIN ownership o ON o.evaluation_id = w.evaluation_id AND o.subject_kind = 'image'
JOIN sized z ON z.run_id = o.fact_run_id AND z.registry = o.registry AND z.repository = o.repository
            AND z.tag = o.tag
LEFT JOIN budget b ON b.evaluation_id = w.evaluation_id AND b.situation = o.situation;

CREATE OR REPLACE VIEW weekly_image_sizes AS
SELECT week, week_start, team, profile, count(*) AS images,
       count(*) FILTER (within_budget) AS within_budget, count(*) FILTER (NOT within_budget) AS over_budget,
       round(count(*) FILTER (within_budget) / nullif(count(*) FILTER (within_budget IS NOT NULL), 0), 4)
           AS within_budget_share,
       median(compressed_bytes)::BIGINT AS median_bytes,
       quantile_cont(compressed_bytes, 0.9)::BIGINT AS p90_bytes,
       coalesce(sum(over_by_bytes) FILTER (over_by_bytes > 0), 0)::BIGINT AS over_budget_bytes
FROM weekly_images
GROUP BY ALL;

-- Registry storage, each layer blob counted once per registry: a blob referenced by several teams'
-- images is split evenly among those teams (attributed_bytes), so the teams' attributed bytes add
-- up to the org's stored bytes (org_bytes); referenced_bytes is what the team's images pull.
CREATE OR REPLACE VIEW weekly_registry_bytes AS
WITH refs AS (
    SELECT DISTINCT i.week, i.team, l.registry, l.layer_digest, l.size
    FROM weekly_images i
    JOIN image_layers l
      ON l.run_id = i.fact_run_id AND l.registry = i.registry AND l.repository = i.repository AND l.tag = i.tag
),
blobs AS (
    SELECT week, registry, layer_digest, any_value(size) AS size, count(DISTINCT team) AS teams
    FROM refs GROUP BY ALL
),
org AS (SELECT week, sum(size)::BIGINT AS org_bytes FROM blobs GROUP BY week),
over AS (SELECT week, team, sum(over_budget_bytes)::BIGINT AS over_budget_bytes FROM weekly_image_sizes GROUP BY ALL)
SELECT w.week, w.week_start, r.team,
       sum(r.size)::BIGINT AS referenced_bytes,
       coalesce(sum(r.size) FILTER (b.teams = 1), 0)::BIGINT AS exclusive_bytes,
       coalesce(sum(r.size) FILTER (b.teams > 1), 0)::BIGINT AS shared_bytes,
       sum(r.size / b.teams) AS attributed_bytes,
       any_value(g.org_bytes) AS org_bytes,
       coalesce(any_value(v.over_budget_bytes), 0) AS over_budget_bytes
FROM refs r
JOIN blobs b USING (week, registry, layer_digest)
JOIN org g USING (week)
JOIN report_weeks w USING (week)
LEFT JOIN over v USING (week, team)
GROUP BY ALL;

CREATE OR REPLACE VIEW weekly_dockerfile_offenders AS
SELECT w.week, w.week_start, f.team, f.repo, f.path, count(*) AS findings,
       count(*) FILTER (f.severity IN ('error', 'critical')) AS serious,
       CASE max(CASE f.severity WHEN 'critical' THEN 4 WHEN 'error' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END)
           WHEN 4 THEN 'critical' WHEN 3 THEN 'error' WHEN 2 THEN 'warning' ELSE 'info' END AS worst_severity,
       list(DISTINCT f.policy_id ORDER BY f.policy_id) AS policies
FROM report_weeks w
JOIN findings f ON f.evaluation_id = w.evaluation_id AND f.subject_kind = 'dockerfile' AND NOT f.waived
GROUP BY ALL;
