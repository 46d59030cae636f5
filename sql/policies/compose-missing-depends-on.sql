-- compose-missing-depends-on: a service whose environment names another service of its project
-- as a host (a URL's host, `host:port`, or the whole value of a *_HOST / *_URL / *_ADDR-like key)
-- without depending on it, directly or through the services it depends on.
WITH RECURSIVE svc AS (
    SELECT c.run_id, c.repo, c.project_dir, c.project_files, c.service, c.depends_on, c.environment,
           c.healthcheck, c.network_mode
    FROM compose_services c
    SEMI JOIN (SELECT DISTINCT run_id, repo FROM subjects WHERE subject_kind = 'compose_service') s
        USING (run_id, repo)
),
edges AS (
    SELECT run_id, repo, project_dir, project_files, service, unnest(depends_on).service AS target
    FROM svc
),
reach AS (  -- every service a service waits for, transitively
    SELECT run_id, repo, project_dir, project_files, service, target, 1 AS depth FROM edges
    UNION
    SELECT r.run_id, r.repo, r.project_dir, r.project_files, r.service, e.target, r.depth + 1
    FROM reach r
    JOIN edges e
      ON e.run_id = r.run_id AND e.repo = r.repo AND e.project_dir = r.project_dir
     AND e.project_files = r.project_files AND e.service = r.target
    WHERE r.depth < 50
),
env AS (
    SELECT s.run_id, s.repo, s.project_dir, s.project_files, s.service, e."key" AS env_key, e."value" AS env_value
    FROM svc s, unnest(s.environment) AS t(e)
    WHERE e."value" IS NOT NULL AND NOT coalesce(e.redacted, false) AND e."value" <> ''
),
refs AS (
    SELECT e.*, t.service AS target, t.healthcheck AS target_healthcheck,
           regexp_replace(t.service, '([.\-])', '\\\1', 'g') AS pat
    FROM env e
    JOIN svc t
      ON t.run_id = e.run_id AND t.repo = e.repo AND t.project_dir = e.project_dir
     AND t.project_files = e.project_files AND t.service <> e.service
     -- every way of naming a host below needs the service name verbatim in the value when the name
     -- has no regex metacharacter other than . and - (which `pat` escapes): this cheap test spares
     -- most (value, service) pairs the regexes built per pair
     AND (contains(e.env_value, t.service) OR NOT regexp_full_match(t.service, '[A-Za-z0-9._-]+'))
),
hits AS (
    SELECT r.*,
           CASE
               WHEN regexp_matches(r.env_value, '://([^/@\s]*@)?' || r.pat || '([:/?#]|$)') THEN 'url host'
               WHEN regexp_matches(r.env_value, '(^|[,\s])' || r.pat || ':[0-9]+([,/\s]|$)') THEN 'host:port'
               WHEN r.env_value = r.target
                    AND regexp_matches(upper(r.env_key),
                                       '(HOST|HOSTNAME|HOSTS|ADDR|ADDRESS|SERVER|SERVERS|URL|URI|DSN|ENDPOINT|BROKER|BROKERS)$')
                   THEN 'host value'
           END AS how
    FROM refs r
),
missing AS (
    SELECT h.*,
           row_number() OVER (PARTITION BY h.run_id, h.repo, h.project_dir, h.project_files, h.service, h.target
                              ORDER BY h.env_key) AS nth
    FROM hits h
    WHERE h.how IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM reach x
                      WHERE x.run_id = h.run_id AND x.repo = h.repo AND x.project_dir = h.project_dir
                        AND x.project_files = h.project_files AND x.service = h.service AND x.target = h.target)
      AND NOT EXISTS (SELECT 1 FROM svc s  -- network_mode: service:x makes Compose start x first
                      WHERE s.run_id = h.run_id AND s.repo = h.repo AND s.project_dir = h.project_dir
                        AND s.project_files = h.project_files AND s.service = h.service
                        AND s.network_mode = 'service:' || h.target)
)
SELECT o.subject_id, p.severity,
       format('service {} reaches {} by name ({}={}) but does not depend on it: it can start before {} is up; '
              || 'add `depends_on: [{}]`{}',
              m.service, m.target, m.env_key, m.env_value, m.target, m.target,
              CASE WHEN m.target_healthcheck THEN format(' with `condition: service_healthy` ({} has a healthcheck)',
                                                        m.target)
                   ELSE '' END) AS message,
       {'reaches': m.target, 'via_key': m.env_key, 'value': m.env_value, 'matched_as': m.how,
        'depends_on': coalesce((SELECT list(DISTINCT x.target ORDER BY x.target) FROM reach x
                                WHERE x.run_id = m.run_id AND x.repo = m.repo AND x.project_dir = m.project_dir
                                  AND x.project_files = m.project_files AND x.service = m.service), []),
        'target_healthcheck': m.target_healthcheck} AS evidence,
       NULL AS line,
       NULL AS stage,
       m.target AS key
FROM missing m
JOIN subjects o
  ON o.subject_kind = 'compose_service' AND o.run_id = m.run_id AND o.repo = m.repo
 AND o.path = m.project_files[1] AND o.service = m.service
JOIN params p USING (situation)
WHERE m.nth = 1;
