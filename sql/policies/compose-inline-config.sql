-- compose-inline-config: a Compose service that sets more variables inline than the situation
-- tolerates. The stored environment merges `env_file:` entries with `environment:`, so only a
-- service without `env_file:` can be counted exactly; one that already reads an env file is not
-- judged (nothing tells which of its entries are inline).
SELECT o.subject_id, p.severity,
       format('service {} sets {} environment variables inline, over the limit of {} (profile {}): '
              || 'move them to an env_file', o.service, len(c.environment), p.max_inline_env, o.profile) AS message,
       {'inline_env': len(c.environment), 'max_inline_env': p.max_inline_env,
        'over_by': len(c.environment) - p.max_inline_env,
        'keys': list_transform(c.environment, lambda e: e."key")[1:20],
        'redacted_values': len(list_filter(c.environment, lambda e: e.redacted))} AS evidence,
       NULL AS line, NULL AS stage, NULL AS key
FROM subjects o
JOIN params p USING (situation)
JOIN compose_services c
  ON c.run_id = o.run_id AND c.repo = o.repo AND c.project_files[1] = o.path AND c.service = o.service
WHERE o.subject_kind = 'compose_service'
  AND len(c.env_files) = 0
  AND len(c.environment) > p.max_inline_env;
