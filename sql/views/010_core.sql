-- Public views: the documented, stable surface for ad-hoc SQL (docs/schema.md).
-- `runs` lists every run, whatever its status, so operators see failures; every other
-- view shows only committed runs (status ok or partial): a running, killed or failed
-- run never shows up half.

CREATE OR REPLACE VIEW runs AS
SELECT run_id, status, started_at, finished_at, as_of,
       coalesce(as_of, started_at) AS effective_at,
       finished_at - started_at AS duration,
       repos_total, repos_extracted, repos_unchanged, repos_failed,
       only_repos, config_hash, config_path, tool_version, message
FROM audit_runs;

CREATE OR REPLACE VIEW repo_snapshots AS
SELECT s.run_id, r.effective_at, s.repo, s.url, s.ref, s.commit_sha, s.committed_at,
       s.status, s.error, s.blobs_read, s.duration_ms, s.note
FROM git_snapshots s
JOIN runs r USING (run_id)
WHERE r.status IN ('ok', 'partial');

-- Per repository, its newest observation (a failure shows as a failure); repositories
-- dropped from the config before the newest full audit are left out.
CREATE OR REPLACE VIEW latest_repo_snapshots AS
SELECT *
FROM repo_snapshots
WHERE effective_at >= coalesce(
    (SELECT max(effective_at) FROM runs WHERE status IN ('ok', 'partial') AND only_repos IS NULL),
    '-infinity'::TIMESTAMPTZ)
QUALIFY row_number() OVER (PARTITION BY repo ORDER BY effective_at DESC, run_id DESC) = 1;

-- What the latest_* fact views read: per repository, its newest observation that has a
-- commit, so one failed fetch does not make a repository's facts vanish from reports.
CREATE OR REPLACE VIEW latest_audited_snapshots AS
SELECT *
FROM repo_snapshots
WHERE status IN ('extracted', 'unchanged')
  AND repo IN (SELECT repo FROM latest_repo_snapshots)
QUALIFY row_number() OVER (PARTITION BY repo ORDER BY effective_at DESC, run_id DESC) = 1;

CREATE OR REPLACE VIEW repo_files AS
SELECT s.run_id, s.repo, s.commit_sha, s.committed_at, f.path, f.kind, f.blob_sha, f.mode,
       f.symlink_target, f.skipped_reason, b.size
FROM repo_snapshots s
JOIN git_commit_files f ON f.repo = s.repo AND f.commit_sha = s.commit_sha
LEFT JOIN git_blobs b ON b.blob_sha = f.blob_sha;

CREATE OR REPLACE VIEW dockerfiles AS
SELECT f.run_id, f.repo, f.commit_sha, f.committed_at, f.path, f.blob_sha, f.size,
       f.symlink_target, f.skipped_reason,
       d.syntax, d.escape, d.check_directive, d.stage_count, d.final_stage_index, d.final_stage_name,
       d.global_args, d.parse_error, d.warnings
FROM repo_files f
LEFT JOIN df_files d ON d.blob_sha = f.blob_sha AND f.skipped_reason IS NULL
WHERE f.kind = 'dockerfile';

CREATE OR REPLACE VIEW dockerfile_stages AS
SELECT d.run_id, d.repo, d.commit_sha, d.path, s.* EXCLUDE (blob_sha), d.blob_sha
FROM dockerfiles d JOIN df_stages s USING (blob_sha)
WHERE d.skipped_reason IS NULL;

CREATE OR REPLACE VIEW dockerfile_instructions AS
SELECT d.run_id, d.repo, d.commit_sha, d.path, i.* EXCLUDE (blob_sha), d.blob_sha
FROM dockerfiles d JOIN df_instructions i USING (blob_sha)
WHERE d.skipped_reason IS NULL;

CREATE OR REPLACE VIEW dockerfile_packages AS
SELECT d.run_id, d.repo, d.commit_sha, d.path, p.* EXCLUDE (blob_sha), d.blob_sha
FROM dockerfiles d JOIN df_packages p USING (blob_sha)
WHERE d.skipped_reason IS NULL;

CREATE OR REPLACE VIEW dockerfile_vars AS
SELECT d.run_id, d.repo, d.commit_sha, d.path, v.* EXCLUDE (blob_sha), d.blob_sha
FROM dockerfiles d JOIN df_vars v USING (blob_sha)
WHERE d.skipped_reason IS NULL;

CREATE OR REPLACE VIEW dockerfile_copies AS
SELECT d.run_id, d.repo, d.commit_sha, d.path, c.* EXCLUDE (blob_sha), d.blob_sha
FROM dockerfiles d JOIN df_copies c USING (blob_sha)
WHERE d.skipped_reason IS NULL;

-- latest_*: the same rows, restricted to each repository's newest audited commit.
CREATE OR REPLACE VIEW latest_repo_files AS
SELECT * FROM repo_files SEMI JOIN latest_audited_snapshots USING (run_id, repo);
CREATE OR REPLACE VIEW latest_dockerfiles AS
SELECT * FROM dockerfiles SEMI JOIN latest_audited_snapshots USING (run_id, repo);
CREATE OR REPLACE VIEW latest_dockerfile_stages AS
SELECT * FROM dockerfile_stages SEMI JOIN latest_audited_snapshots USING (run_id, repo);
CREATE OR REPLACE VIEW latest_dockerfile_instructions AS
SELECT * FROM dockerfile_instructions SEMI JOIN latest_audited_snapshots USING (run_id, repo);
CREATE OR REPLACE VIEW latest_dockerfile_packages AS
SELECT * FROM dockerfile_packages SEMI JOIN latest_audited_snapshots USING (run_id, repo);
CREATE OR REPLACE VIEW latest_dockerfile_vars AS
SELECT * FROM dockerfile_vars SEMI JOIN latest_audited_snapshots USING (run_id, repo);
CREATE OR REPLACE VIEW latest_dockerfile_copies AS
SELECT * FROM dockerfile_copies SEMI JOIN latest_audited_snapshots USING (run_id, repo);
