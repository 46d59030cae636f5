-- Public views over registries and images (docs/schema.md). Image facts are stored once per
-- digest; these views join them to every tag and run that observed them.

CREATE OR REPLACE VIEW images AS
SELECT s.run_id, r.effective_at, s.registry, s.repository, s.tag, s.digest,
       coalesce(m.media_type, s.media_type) AS media_type, m.kind, s.status, s.error
FROM registry_snapshots s
JOIN runs r USING (run_id)
LEFT JOIN image_manifest_facts m ON m.digest = s.digest
WHERE r.status IN ('ok', 'partial');

CREATE OR REPLACE VIEW image_manifests AS
WITH platform_manifests AS (
    SELECT i.run_id, i.registry, i.repository, i.tag, i.digest AS tag_digest, i.digest AS manifest_digest,
           NULL::VARCHAR AS index_os, NULL::VARCHAR AS index_architecture, NULL::VARCHAR AS index_variant
    FROM images i WHERE i.kind = 'manifest'
    UNION ALL
    SELECT i.run_id, i.registry, i.repository, i.tag, i.digest, c.child_digest, c.os, c.architecture, c.variant
    FROM images i JOIN image_index_children c ON c.index_digest = i.digest
    WHERE i.kind = 'index'
)
SELECT p.run_id, p.registry, p.repository, p.tag, p.tag_digest, p.manifest_digest, m.media_type,
       coalesce(p.index_os, cfg.os) AS os, coalesce(p.index_architecture, cfg.architecture) AS architecture,
       coalesce(p.index_variant, cfg.variant) AS variant,
       m.config_digest, m.layer_count, m.compressed_bytes, m.annotations,
       TRY_CAST(cfg.created AS TIMESTAMPTZ) AS created, cfg."user", cfg.entrypoint, cfg.cmd, cfg.workdir,
       list_transform(cfg.env, lambda e: e."key") AS env_keys, cfg.env, cfg.labels, cfg.exposed_ports,
       cfg.volumes, cfg.healthcheck, cfg.stop_signal
FROM platform_manifests p
JOIN image_manifest_facts m ON m.digest = p.manifest_digest AND m.kind = 'manifest'
LEFT JOIN image_config_facts cfg ON cfg.config_digest = m.config_digest;

CREATE OR REPLACE VIEW image_layers AS
SELECT im.run_id, im.registry, im.repository, im.tag, im.manifest_digest, im.os, im.architecture,
       l.layer_index, l.digest AS layer_digest, l.media_type, l.size,
       CASE WHEN s.layer_digest IS NULL THEN NULL WHEN s.error IS NULL THEN 'scanned' ELSE 'failed' END
           AS scan_status,
       s.error AS scan_error
FROM image_manifests im
JOIN image_layer_facts l ON l.manifest_digest = im.manifest_digest
LEFT JOIN layer_scans s ON s.layer_digest = l.digest;

CREATE OR REPLACE VIEW image_history AS
SELECT im.run_id, im.registry, im.repository, im.tag, im.manifest_digest, im.os, im.architecture,
       h.history_index, TRY_CAST(h.created AS TIMESTAMPTZ) AS created, h.created_by, h."comment", h.empty_layer,
       h.layer_index, l.digest AS layer_digest, l.size AS layer_size
FROM image_manifests im
JOIN image_history_facts h ON h.config_digest = im.config_digest
LEFT JOIN image_layer_facts l ON l.manifest_digest = im.manifest_digest AND l.layer_index = h.layer_index;

-- Which repository, commit and Dockerfile built an image, from its OCI labels/annotations.
CREATE OR REPLACE VIEW image_lineage AS
WITH declared AS (
    SELECT im.run_id, im.registry, im.repository, im.tag, im.manifest_digest, im.os, im.architecture,
           coalesce(list_filter(im.labels, lambda x: x."key" = 'org.opencontainers.image.source')[1]."value",
                    list_filter(im.annotations, lambda x: x."key" = 'org.opencontainers.image.source')[1]."value")
               AS source,
           coalesce(list_filter(im.labels, lambda x: x."key" = 'org.opencontainers.image.revision')[1]."value",
                    list_filter(im.annotations, lambda x: x."key" = 'org.opencontainers.image.revision')[1]."value")
               AS revision,
           list_filter(im.annotations, lambda x: x."key" = 'org.opencontainers.image.base.name')[1]."value"
               AS base_name,
           list_filter(im.annotations, lambda x: x."key" = 'org.opencontainers.image.base.digest')[1]."value"
               AS base_digest
    FROM image_manifests im
),
-- URLs compared without scheme, user, `.git` or trailing slash; scp-style `git@host:path` as `host/path`.
git_repos AS (
    SELECT url_key, min(repo) AS repo  -- one URL audited under several names (two refs): one match
    FROM (SELECT DISTINCT repo, lower(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
              url, '/+$', ''), '\.git$', ''), '^[a-z+]+://([^@/]*@)?', ''), '^[^@/]+@([^:/]+):', '\1/'))
              AS url_key
          FROM repo_snapshots)  -- committed runs only: a killed run's repositories and commits stay invisible
    GROUP BY url_key
),
matched AS (
    SELECT d.*, g.repo AS git_repo,
           (SELECT c.commit_sha FROM repo_snapshots c
            WHERE c.repo = g.repo AND c.status IN ('extracted', 'unchanged')
              AND d.revision IS NOT NULL AND length(d.revision) >= 7
              AND starts_with(c.commit_sha, lower(d.revision))
            LIMIT 1) AS git_commit
    FROM declared d
    LEFT JOIN git_repos g
      ON d.source IS NOT NULL
     AND g.url_key = lower(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
             d.source, '/+$', ''), '\.git$', ''), '^[a-z+]+://([^@/]*@)?', ''), '^[^@/]+@([^:/]+):', '\1/'))
)
SELECT m.run_id, m.registry, m.repository, m.tag, m.manifest_digest, m.os, m.architecture, m.source, m.revision,
       m.base_name, m.base_digest, m.git_repo, m.git_commit,
       (SELECT CASE WHEN count(*) = 1 THEN any_value(f.path) END FROM git_commit_files f
        WHERE f.repo = m.git_repo AND f.commit_sha = m.git_commit AND f.kind = 'dockerfile') AS dockerfile_path
FROM matched m;

-- latest_*: registries follow the git rule. Each tag shows its newest successful read, so a
-- night on which a registry, a repository or a tag could not be read keeps the last committed
-- facts (and says so in latest_images.newest_attempt_failed); a tag that its repository's newest
-- tag list no longer names, or a repository the registry no longer lists, drops out.
CREATE OR REPLACE VIEW latest_registry_runs AS
SELECT registry, arg_max(run_id, effective_at) AS run_id
FROM (SELECT DISTINCT registry, run_id, effective_at FROM images WHERE status <> 'failed')
GROUP BY registry;

CREATE OR REPLACE VIEW latest_registry_attempts AS
SELECT registry, arg_max(run_id, effective_at) AS run_id
FROM (SELECT DISTINCT registry, run_id, effective_at FROM images)
GROUP BY registry;

CREATE OR REPLACE VIEW latest_image_tags AS
WITH repositories AS (  -- as each registry's newest run that read a tag listed them (failed ones included)
    SELECT DISTINCT registry, repository FROM images SEMI JOIN latest_registry_runs USING (registry, run_id)
    WHERE repository IS NOT NULL
), listings AS (        -- per repository, its newest run that read its tag list
    SELECT registry, repository, arg_max(run_id, effective_at) AS run_id
    FROM images WHERE tag IS NOT NULL
    GROUP BY registry, repository
), listed AS (
    SELECT DISTINCT i.registry, i.repository, i.tag
    FROM images i
    JOIN listings l USING (registry, repository, run_id)
    SEMI JOIN repositories USING (registry, repository)
    WHERE i.tag IS NOT NULL
), good AS (            -- per tag, its newest successful read
    SELECT registry, repository, tag, arg_max(run_id, effective_at) AS run_id
    FROM images WHERE status <> 'failed' AND tag IS NOT NULL
    GROUP BY registry, repository, tag
), newest AS (          -- the rows of each registry's newest attempt
    SELECT i.* FROM images i SEMI JOIN latest_registry_attempts USING (registry, run_id)
)
SELECT t.registry, t.repository, t.tag, g.run_id,
       NOT EXISTS (SELECT 1 FROM newest n WHERE n.registry = t.registry AND n.repository = t.repository
                   AND n.tag = t.tag AND n.status <> 'failed') AS newest_attempt_failed,
       coalesce(
           (SELECT any_value(n.error) FROM newest n WHERE n.registry = t.registry AND n.repository = t.repository
              AND n.tag = t.tag AND n.status = 'failed'),
           (SELECT any_value(n.error) FROM newest n WHERE n.registry = t.registry AND n.repository = t.repository
              AND n.tag IS NULL AND n.status = 'failed'),
           (SELECT any_value(n.error) FROM newest n WHERE n.registry = t.registry AND n.repository IS NULL
              AND n.status = 'failed')) AS newest_error
FROM listed t
JOIN good g USING (registry, repository, tag);

CREATE OR REPLACE VIEW latest_images AS
SELECT i.*, t.newest_attempt_failed, CASE WHEN t.newest_attempt_failed THEN t.newest_error END AS newest_error
FROM images i JOIN latest_image_tags t USING (registry, repository, tag, run_id);
CREATE OR REPLACE VIEW latest_image_failures AS
SELECT i.* FROM images i SEMI JOIN latest_registry_attempts USING (registry, run_id) WHERE i.status = 'failed';
CREATE OR REPLACE VIEW latest_image_manifests AS
SELECT * FROM image_manifests SEMI JOIN latest_image_tags USING (registry, repository, tag, run_id);
CREATE OR REPLACE VIEW latest_image_layers AS
SELECT * FROM image_layers SEMI JOIN latest_image_tags USING (registry, repository, tag, run_id);
CREATE OR REPLACE VIEW latest_image_history AS
SELECT * FROM image_history SEMI JOIN latest_image_tags USING (registry, repository, tag, run_id);
CREATE OR REPLACE VIEW latest_image_lineage AS
SELECT * FROM image_lineage SEMI JOIN latest_image_tags USING (registry, repository, tag, run_id);

-- Layer scan results (registries with layer_scan: true), per platform image.
CREATE OR REPLACE VIEW image_files_summary AS
SELECT im.run_id, im.registry, im.repository, im.tag, im.manifest_digest, im.os, im.architecture,
       im.compressed_bytes, s.uncompressed_bytes, s.final_bytes, s.wasted_bytes, s.file_count, s.upx_files,
       s.toolchains, s.data_files, s.data_bytes, s.has_shell, s.package_managers
FROM image_manifests im
JOIN image_files_summary_facts s ON s.manifest_digest = im.manifest_digest;

CREATE OR REPLACE VIEW latest_image_files_summary AS
SELECT * FROM image_files_summary SEMI JOIN latest_image_tags USING (registry, repository, tag, run_id);
