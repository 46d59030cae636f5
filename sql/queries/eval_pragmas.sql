-- `# hadolint ignore=` pragmas of the Dockerfiles in effect (the scoped copy of repo_signals): the
-- line of the instruction they apply to (0: `# hadolint global ignore=`, the whole file) and the codes.
SELECT repo, path, line, detail FROM repo_signals WHERE signal = 'hadolint_ignore';
