-- CODEOWNERS rules of the snapshots in effect (the scoped copy of repo_signals), in file order
-- (the last matching rule wins). GitHub reads the first of .github/, the root, docs/; GitLab also
-- .gitlab/: the engine applies the same order.
SELECT repo, path, line, detail FROM repo_signals WHERE signal = 'codeowners_rule' ORDER BY repo, path, line;
