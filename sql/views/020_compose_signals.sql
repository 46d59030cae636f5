-- Public views over Compose projects and repository signals (docs/schema.md).

CREATE OR REPLACE VIEW compose_projects AS
SELECT s.run_id, s.repo, s.commit_sha, s.committed_at, p.project_dir, p.name, p.files, p.included_files,
       p.env_file, p.active_profiles, p.declared_profiles, p.service_count, p.warnings, p.error,
       p.origin_path, p.origin_line
FROM repo_snapshots s
JOIN compose_project_facts p ON p.repo = s.repo AND p.commit_sha = s.commit_sha;

CREATE OR REPLACE VIEW compose_services AS
SELECT s.run_id, s.repo, s.commit_sha, c.project_dir, p.name AS project_name, c.project_files, c.service,
       c.image, c.build_context, c.build_dockerfile, f.blob_sha AS build_dockerfile_blob_sha,
       c.build_dockerfile_inline, c.build_target, c.build_args, c.build_platforms, c.profiles, c.depends_on,
       c.privileged, c.network_mode, c.pid, c.ipc, c.cap_add, c."user", c.restart, c.healthcheck,
       list_transform(c.environment, lambda e: e."key") AS environment_keys, c.environment, c.env_files,
       c.ports, c.volumes, c.mounts_docker_socket, c.secrets, c.configs, c.cpus_limit, c.memory_limit, c.networks,
       p.error AS project_error, c.effective_image, c.command, c.entrypoint, c.container_name, c.pull_policy,
       c.expose, c.hostname, c.logging_driver, c.logging_options, c.read_only, c.tmpfs, c.stop_signal, c.platform,
       c.runtime, c.labels, c.sysctls, c.shm_size, c.ulimits, c.healthcheck_test, c.healthcheck_interval_seconds,
       c.healthcheck_timeout_seconds, c.healthcheck_start_period_seconds, c.healthcheck_retries
FROM repo_snapshots s
JOIN compose_service_facts c ON c.repo = s.repo AND c.commit_sha = s.commit_sha
LEFT JOIN compose_project_facts p
       ON p.repo = c.repo AND p.commit_sha = c.commit_sha AND p.project_dir = c.project_dir AND p.files = c.project_files
LEFT JOIN git_commit_files f
       ON f.repo = c.repo AND f.commit_sha = c.commit_sha AND f.path = c.build_dockerfile AND f.kind = 'dockerfile';

CREATE OR REPLACE VIEW repo_signals AS
SELECT f.run_id, f.repo, f.commit_sha, f.path, f.kind, g.line, g.signal, g.detail
FROM repo_files f
JOIN signal_facts g ON g.blob_sha = f.blob_sha
WHERE f.skipped_reason IS NULL;

CREATE OR REPLACE VIEW latest_compose_projects AS
SELECT * FROM compose_projects SEMI JOIN latest_audited_snapshots USING (run_id, repo);
CREATE OR REPLACE VIEW latest_compose_services AS
SELECT * FROM compose_services SEMI JOIN latest_audited_snapshots USING (run_id, repo);
CREATE OR REPLACE VIEW latest_repo_signals AS
SELECT * FROM repo_signals SEMI JOIN latest_audited_snapshots USING (run_id, repo);
