-- What a run covers, for the audit's summary: every Dockerfile and Compose service of the
-- repositories it audited (unchanged ones included: a quiet night still covers them), how many
-- Dockerfiles are new or changed since each repository's previous audited snapshot, and the image
-- tags and registries it read. Parameter $1: the run, just published (read by the writer that published it).
WITH this AS (SELECT run_id, effective_at FROM runs WHERE run_id = $1),
previous AS (  -- per repository of the run, its newest audited snapshot before it
    SELECT s.repo, arg_max(s.run_id, s.effective_at) AS run_id
    FROM repo_snapshots s, this t
    WHERE s.status IN ('extracted', 'unchanged') AND s.effective_at < t.effective_at
      AND s.repo IN (SELECT repo FROM repo_snapshots WHERE run_id = $1)
    GROUP BY s.repo
),
now AS (SELECT repo, path, blob_sha FROM dockerfiles WHERE run_id = $1),
before AS (
    SELECT d.repo, d.path, d.blob_sha FROM dockerfiles d JOIN previous p USING (run_id, repo)
)
SELECT
    (SELECT count(*) FROM now) AS dockerfiles,
    (SELECT count(*) FROM now n
     WHERE NOT EXISTS (SELECT 1 FROM before b
                       WHERE b.repo = n.repo AND b.path = n.path AND b.blob_sha IS NOT DISTINCT FROM n.blob_sha))
        AS dockerfiles_changed,
    (SELECT count(*) FROM compose_services WHERE run_id = $1) AS compose_services,
    (SELECT count(DISTINCT registry) FROM images WHERE run_id = $1) AS registries,
    (SELECT count(*) FROM images WHERE run_id = $1 AND tag IS NOT NULL AND status <> 'failed') AS tags;
