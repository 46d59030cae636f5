-- secret-in-build: secret values where they stay forever. hullcheck never stores a secret: it
-- reads the redaction (a value replaced by `<redacted>` because its name or its shape looked like
-- a secret) and the names. Dockerfile: a literal ENV value or ARG default, a secret-named ARG
-- without a default (arg_severity), an ENV of a secret name copied from a build arg, a RUN / ADD /
-- LABEL / CMD … carrying a credential. Compose: a literal `environment:` value (the file or an env
-- file it reads). Image: an env value, a label, a history step carrying a credential.
WITH df AS (
    SELECT o.subject_id, o.situation, o.run_id, o.repo, o.path FROM subjects o WHERE o.subject_kind = 'dockerfile'
),
stages AS (
    SELECT s.run_id, s.repo, s.path, s.stage_index, coalesce(s.name, s.stage_index::VARCHAR) AS stage
    FROM dockerfile_stages s SEMI JOIN df USING (run_id, repo, path)
),
vars AS (
    SELECT d.subject_id, d.situation, v.kind, v."key", v.value, v.value_redacted, v.stage_index, i.start_line,
           st.stage
    FROM df d
    JOIN dockerfile_vars v ON v.run_id = d.run_id AND v.repo = d.repo AND v.path = d.path
    JOIN dockerfile_instructions i ON i.run_id = v.run_id AND i.repo = v.repo AND i.path = v.path AND i.seq = v.seq
    LEFT JOIN stages st ON st.run_id = v.run_id AND st.repo = v.repo AND st.path = v.path
                       AND st.stage_index = v.stage_index
),
cmds AS (  -- instructions other than ENV/ARG carrying a redaction, with the names the redactions follow
    SELECT d.subject_id, d.situation, i.keyword, i.start_line, i.text, st.stage,
           CASE WHEN i.keyword = 'LABEL'
                THEN list_transform(list_filter(range(1, len(i.arguments) + 1, 2),
                                                lambda n: contains(coalesce(i.arguments[n + 1], ''), '<redacted>')),
                                    lambda n: i.arguments[n])
                ELSE regexp_extract_all(i.text, '([A-Za-z_-][A-Za-z0-9_.-]*)(\s*[=:]\s*|\s+)["'']?<redacted>', 1)
           END AS names,
           CASE WHEN i.keyword = 'LABEL'
                THEN len(list_filter(range(1, len(i.arguments) + 1, 2),
                                     lambda n: contains(coalesce(i.arguments[n + 1], ''), '<redacted>')))
                ELSE len(string_split(i.text, '<redacted>')) - 1
           END AS marks
    FROM df d
    JOIN dockerfile_instructions i ON i.run_id = d.run_id AND i.repo = d.repo AND i.path = d.path
    LEFT JOIN stages st ON st.run_id = i.run_id AND st.repo = i.repo AND st.path = i.path
                       AND st.stage_index = i.stage_index
    WHERE i.keyword NOT IN ('ENV', 'ARG') AND i.text LIKE '%<redacted>%'
),
df_found AS (
    SELECT v.subject_id, p.severity,
           format('{} {} has a literal secret value in the Dockerfile (stored redacted): it is in git history and '
                  || '{}', v.kind, v."key",
                  CASE WHEN v.kind = 'ENV' THEN 'in the config of every image built from it'
                       ELSE 'in the image history of every RUN that uses it' END) AS message,
           {'where': v.kind, 'name': v."key", 'why': 'literal value',
            'value': replace(replace(v.value, '\', ''), '"', ''''),
            'matched': NULL::VARCHAR} AS evidence,
           v.start_line AS line, v.stage, v.kind || ' ' || v."key" || ' @' || coalesce(v.stage, 'global') AS key
    FROM vars v JOIN params p USING (situation)
    WHERE v.value_redacted
      AND len(list_filter(p.ignore_keys, lambda g: upper(v."key") GLOB upper(g))) = 0
    UNION ALL
    SELECT v.subject_id, p.arg_severity,
           format('ARG {} takes a secret with --build-arg: its value is recorded in the image history of every '
                  || 'RUN that uses it; use a secret mount (RUN --mount=type=secret)', v."key"),
           {'where': 'ARG', 'name': v."key", 'why': 'secret build arg', 'value': NULL::VARCHAR,
            'matched': list_filter(p.key_patterns, lambda g: upper(v."key") GLOB upper(g))[1]},
           v.start_line, v.stage, 'ARG ' || v."key" || ' @' || coalesce(v.stage, 'global')
    FROM vars v JOIN params p USING (situation)
    WHERE v.kind = 'ARG' AND v.value IS NULL
      AND len(list_filter(p.key_patterns, lambda g: upper(v."key") GLOB upper(g))) > 0
      AND len(list_filter(p.ignore_keys, lambda g: upper(v."key") GLOB upper(g))) = 0
    UNION ALL
    SELECT v.subject_id, p.severity,
           format('ENV {}={} copies a build-time value into the image config: every pull of the image carries '
                  || 'the secret', v."key", v.value),
           {'where': 'ENV', 'name': v."key", 'why': 'secret copied from a variable', 'value': v.value,
            'matched': list_filter(p.key_patterns, lambda g: upper(v."key") GLOB upper(g))[1]},
           v.start_line, v.stage, 'ENV ' || v."key" || ' @' || coalesce(v.stage, 'global')
    FROM vars v JOIN params p USING (situation)
    WHERE v.kind = 'ENV' AND NOT v.value_redacted AND starts_with(trim(coalesce(v.value, '')), '$')
      AND len(list_filter(p.key_patterns, lambda g: upper(v."key") GLOB upper(g))) > 0
      AND len(list_filter(p.ignore_keys, lambda g: upper(v."key") GLOB upper(g))) = 0
    UNION ALL
    SELECT c.subject_id, p.severity,
           format('{} on line {} carries a credential{} (stored redacted), so it is in git history{}', c.keyword,
                  c.start_line, CASE WHEN c.names[1] IS NOT NULL THEN format(' after {}', c.names[1]) ELSE '' END,
                  CASE WHEN c.keyword IN ('RUN', 'ADD') THEN ' and in the image history'
                       WHEN c.keyword IN ('LABEL', 'CMD', 'ENTRYPOINT', 'HEALTHCHECK') THEN ' and in the image config'
                       ELSE '' END),
           {'where': c.keyword, 'name': c.names[1], 'why': 'credential in a command',
            'value': replace(replace(left(c.text, 200), '\', ''), '"', ''''), 'matched': NULL::VARCHAR},
           c.start_line, c.stage, c.keyword || ' @' || coalesce(c.stage, 'global') || ' ' || md5(c.text)[1:8]
    FROM cmds c
    JOIN params p USING (situation)
    -- judged unless every redaction belongs to a name the situation ignores
    WHERE c.marks > len(c.names)
       OR len(list_filter(c.names, lambda k: len(list_filter(p.ignore_keys, lambda g: upper(k) GLOB upper(g))) = 0)) > 0
),
compose_found AS (
    SELECT o.subject_id, p.severity,
           format('service {} sets {} to a literal secret (stored redacted){}: it is committed with the project',
                  o.service, e."key",
                  CASE WHEN len(c.env_files) > 0 THEN format(' in its environment or its env_file {}',
                                                             array_to_string(c.env_files, ', '))
                       ELSE ' in its environment' END) AS message,
           {'where': 'environment', 'name': e."key", 'why': 'literal value',
            'value': replace(replace(e.value, '\', ''), '"', ''''),
            'matched': NULL::VARCHAR} AS evidence,
           NULL::INTEGER AS line, NULL::VARCHAR AS stage, 'environment ' || e."key" AS key
    FROM subjects o
    JOIN params p USING (situation)
    JOIN compose_services c
      ON c.run_id = o.run_id AND c.repo = o.repo AND c.project_files[1] = o.path AND c.service = o.service,
    LATERAL (SELECT unnest(c.environment) AS e)
    WHERE o.subject_kind = 'compose_service' AND e.redacted
      AND len(list_filter(p.ignore_keys, lambda g: upper(e."key") GLOB upper(g))) = 0
),
img AS (
    SELECT o.subject_id, o.situation, m.*
    FROM subjects o
    JOIN image_manifests m
      ON m.run_id = o.run_id AND m.registry = o.registry AND m.repository = o.repository AND m.tag = o.tag
    WHERE o.subject_kind = 'image'
    QUALIFY row_number() OVER (PARTITION BY o.subject_id ORDER BY m.manifest_digest) = 1
),
image_found AS (
    SELECT i.subject_id, p.severity,
           format('the image config sets {} {} to a secret value (stored redacted): everyone who can pull the '
                  || 'image can read it', x.what, x.kv."key") AS message,
           {'where': x.what, 'name': x.kv."key", 'why': 'literal value',
            'value': replace(replace(x.kv.value, '\', ''), '"', ''''),
            'matched': NULL::VARCHAR} AS evidence,
           NULL::INTEGER AS line, NULL::VARCHAR AS stage, x.what || ' ' || x.kv."key" AS key
    FROM img i
    JOIN params p USING (situation),
    LATERAL (SELECT 'env' AS what, unnest(i.env) AS kv UNION ALL SELECT 'label', unnest(i.labels)) x
    WHERE x.kv.redacted
      AND len(list_filter(p.ignore_keys, lambda g: upper(x.kv."key") GLOB upper(g))) = 0
    UNION ALL
    SELECT i.subject_id, p.severity,
           format('build step {} of the image history carries a credential (stored redacted): {}',
                  h.history_index, left(h.created_by, 120)),
           {'where': 'history', 'name': NULL::VARCHAR, 'why': 'credential in a build step',
            'value': replace(replace(left(h.created_by, 200), '\', ''), '"', ''''), 'matched': NULL::VARCHAR},
           NULL, NULL, 'history ' || md5(h.created_by)[1:8]
    FROM img i
    JOIN params p USING (situation)
    JOIN image_history h
      ON h.run_id = i.run_id AND h.registry = i.registry AND h.repository = i.repository AND h.tag = i.tag
     AND h.manifest_digest = i.manifest_digest
    WHERE h.created_by LIKE '%<redacted>%'
)
SELECT * FROM df_found
UNION ALL SELECT * FROM compose_found
UNION ALL SELECT * FROM image_found;
