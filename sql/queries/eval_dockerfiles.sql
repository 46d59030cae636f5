-- The Dockerfiles of the snapshots in effect (repo, run_id pairs bound as two lists).
SELECT d.repo, d.path, d.run_id, d.commit_sha
FROM dockerfiles d
JOIN (SELECT unnest($1::VARCHAR[]) AS repo, unnest($2::BIGINT[]) AS run_id) s USING (repo, run_id)
ORDER BY d.repo, d.path;
