-- CODEOWNERS rules of the snapshots in effect, in file order (the last matching rule wins).
-- GitHub reads the first of .github/, the root, docs/; GitLab also .gitlab/: the same order here.
SELECT g.repo, g.path, g.line, g.detail
FROM repo_signals g
JOIN (SELECT unnest($1::VARCHAR[]) AS repo, unnest($2::BIGINT[]) AS run_id) s USING (repo, run_id)
WHERE g.signal = 'codeowners_rule'
ORDER BY g.repo, g.path, g.line;
