-- Compose as Compose runs it (issue 13): the file sets a repository's scripts, Makefiles, CI files
-- and .env run become projects with their origin; services gain the run-time fields people query.
-- Commits extracted before (extractor version 3) are extracted again on the next audit, so the
-- new columns stay NULL only on facts no audit will show again.

ALTER TABLE compose_project_facts ADD COLUMN origin_path VARCHAR;
ALTER TABLE compose_project_facts ADD COLUMN origin_line INTEGER;

ALTER TABLE compose_service_facts ADD COLUMN effective_image VARCHAR;
ALTER TABLE compose_service_facts ADD COLUMN command VARCHAR[];
ALTER TABLE compose_service_facts ADD COLUMN entrypoint VARCHAR[];
ALTER TABLE compose_service_facts ADD COLUMN container_name VARCHAR;
ALTER TABLE compose_service_facts ADD COLUMN pull_policy VARCHAR;
ALTER TABLE compose_service_facts ADD COLUMN expose VARCHAR[];
ALTER TABLE compose_service_facts ADD COLUMN hostname VARCHAR;
ALTER TABLE compose_service_facts ADD COLUMN logging_driver VARCHAR;
ALTER TABLE compose_service_facts ADD COLUMN logging_options STRUCT("key" VARCHAR, "value" VARCHAR)[];
ALTER TABLE compose_service_facts ADD COLUMN read_only BOOLEAN;
ALTER TABLE compose_service_facts ADD COLUMN tmpfs VARCHAR[];
ALTER TABLE compose_service_facts ADD COLUMN stop_signal VARCHAR;
ALTER TABLE compose_service_facts ADD COLUMN platform VARCHAR;
ALTER TABLE compose_service_facts ADD COLUMN runtime VARCHAR;
ALTER TABLE compose_service_facts ADD COLUMN labels STRUCT("key" VARCHAR, "value" VARCHAR)[];
ALTER TABLE compose_service_facts ADD COLUMN sysctls STRUCT("key" VARCHAR, "value" VARCHAR)[];
ALTER TABLE compose_service_facts ADD COLUMN shm_size BIGINT;
ALTER TABLE compose_service_facts ADD COLUMN ulimits STRUCT("name" VARCHAR, soft BIGINT, hard BIGINT)[];
ALTER TABLE compose_service_facts ADD COLUMN healthcheck_test VARCHAR[];
ALTER TABLE compose_service_facts ADD COLUMN healthcheck_interval_seconds DOUBLE;
ALTER TABLE compose_service_facts ADD COLUMN healthcheck_timeout_seconds DOUBLE;
ALTER TABLE compose_service_facts ADD COLUMN healthcheck_start_period_seconds DOUBLE;
ALTER TABLE compose_service_facts ADD COLUMN healthcheck_retries INTEGER;
