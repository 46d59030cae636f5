-- A commit extracted again (newer extractor): its row is written anew (a plain INSERT after this
-- DELETE costs a third of an INSERT OR REPLACE in DuckDB).
-- Parameters: the repos and the commit shas, as two parallel lists.
DELETE FROM git_commits AS f
USING (SELECT unnest(?::VARCHAR[]) AS repo, unnest(?::VARCHAR[]) AS commit_sha) AS x
WHERE f.repo = x.repo AND f.commit_sha = x.commit_sha;
