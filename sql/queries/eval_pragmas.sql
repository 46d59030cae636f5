-- `# hadolint ignore=` pragmas of the Dockerfiles in effect: the line of the instruction they
-- apply to (0: `# hadolint global ignore=`, the whole file) and the rule codes.
SELECT g.repo, g.path, g.line, g.detail
FROM repo_signals g
JOIN (SELECT unnest($1::VARCHAR[]) AS repo, unnest($2::BIGINT[]) AS run_id) s USING (repo, run_id)
WHERE g.signal = 'hadolint_ignore';
