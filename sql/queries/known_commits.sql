-- Commits already extracted with the current extractor: the nightly rerun skips them.
SELECT repo, commit_sha, committed_at
FROM git_commits
WHERE extractor_version = ?;
