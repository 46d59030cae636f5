-- The Compose services of the snapshots in effect (repo, run_id pairs bound as two lists).
SELECT c.repo, c.project_files[1] AS path, c.service, c.run_id, c.commit_sha, c.project_dir, c.project_files
FROM compose_services c
JOIN (SELECT unnest($1::VARCHAR[]) AS repo, unnest($2::BIGINT[]) AS run_id) s USING (repo, run_id)
ORDER BY c.repo, path, c.service;
