-- Facts no kept run references. Git: commits no snapshot names, then the files of those commits,
-- then blobs no remaining commit file names (with everything extracted from them). Images: manifests
-- no snapshot names (directly or as a child of an index it names), then configs, layers and layer
-- scans no remaining manifest names.
CREATE OR REPLACE TEMP TABLE prune_commits AS
SELECT repo, commit_sha FROM git_commits
ANTI JOIN (SELECT DISTINCT repo, commit_sha FROM git_snapshots WHERE commit_sha IS NOT NULL) USING (repo, commit_sha);
DELETE FROM git_commit_files f USING prune_commits p WHERE f.repo = p.repo AND f.commit_sha = p.commit_sha;
DELETE FROM compose_service_facts f USING prune_commits p WHERE f.repo = p.repo AND f.commit_sha = p.commit_sha;
DELETE FROM compose_project_facts f USING prune_commits p WHERE f.repo = p.repo AND f.commit_sha = p.commit_sha;
DELETE FROM git_commits f USING prune_commits p WHERE f.repo = p.repo AND f.commit_sha = p.commit_sha;

CREATE OR REPLACE TEMP TABLE prune_blobs AS
SELECT blob_sha FROM git_blobs
ANTI JOIN (SELECT DISTINCT blob_sha FROM git_commit_files WHERE blob_sha IS NOT NULL) USING (blob_sha);
DELETE FROM df_instructions WHERE blob_sha IN (SELECT blob_sha FROM prune_blobs);
DELETE FROM df_packages WHERE blob_sha IN (SELECT blob_sha FROM prune_blobs);
DELETE FROM df_vars WHERE blob_sha IN (SELECT blob_sha FROM prune_blobs);
DELETE FROM df_copies WHERE blob_sha IN (SELECT blob_sha FROM prune_blobs);
DELETE FROM df_stages WHERE blob_sha IN (SELECT blob_sha FROM prune_blobs);
DELETE FROM df_files WHERE blob_sha IN (SELECT blob_sha FROM prune_blobs);
DELETE FROM signal_facts WHERE blob_sha IN (SELECT blob_sha FROM prune_blobs);
DELETE FROM signal_files WHERE blob_sha IN (SELECT blob_sha FROM prune_blobs);
DELETE FROM git_blobs WHERE blob_sha IN (SELECT blob_sha FROM prune_blobs);

CREATE OR REPLACE TEMP TABLE prune_kept_manifests AS
WITH RECURSIVE kept(digest, depth) AS (
    SELECT DISTINCT digest, 0 FROM registry_snapshots WHERE digest IS NOT NULL
    UNION
    SELECT c.child_digest, k.depth + 1
    FROM image_index_children c JOIN kept k ON c.index_digest = k.digest
    WHERE k.depth < 8
)
SELECT DISTINCT digest FROM kept;
DELETE FROM image_index_children WHERE index_digest NOT IN (SELECT digest FROM prune_kept_manifests);
DELETE FROM image_layer_facts WHERE manifest_digest NOT IN (SELECT digest FROM prune_kept_manifests);
DELETE FROM image_files_summary_facts WHERE manifest_digest NOT IN (SELECT digest FROM prune_kept_manifests);
DELETE FROM image_manifest_facts WHERE digest NOT IN (SELECT digest FROM prune_kept_manifests);
DELETE FROM image_history_facts
WHERE config_digest NOT IN (SELECT config_digest FROM image_manifest_facts WHERE config_digest IS NOT NULL);
DELETE FROM image_config_facts
WHERE config_digest NOT IN (SELECT config_digest FROM image_manifest_facts WHERE config_digest IS NOT NULL);
DELETE FROM layer_file_facts WHERE layer_digest NOT IN (SELECT digest FROM image_layer_facts);
DELETE FROM layer_scans WHERE layer_digest NOT IN (SELECT digest FROM image_layer_facts);
