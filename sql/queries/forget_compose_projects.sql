-- A commit extracted again (newer extractor): drop its old Compose project rows first.
-- Parameters: the repos and the commit shas, as two parallel lists.
DELETE FROM compose_project_facts AS f
USING (SELECT unnest(?::VARCHAR[]) AS repo, unnest(?::VARCHAR[]) AS commit_sha) AS x
WHERE f.repo = x.repo AND f.commit_sha = x.commit_sha;
