-- Storage tables (private): the public, documented surface is sql/views/.
-- Facts are keyed by content (blob sha); observations map each run to what it saw.

CREATE SEQUENCE IF NOT EXISTS audit_run_ids START 1;

CREATE TABLE audit_runs (
    run_id        BIGINT PRIMARY KEY,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    status        VARCHAR NOT NULL CHECK (status IN ('running', 'ok', 'partial', 'failed')),
    as_of         TIMESTAMPTZ,            -- set for backfills (--as-of): repos audited as of this time
    config_hash   VARCHAR,
    config_path   VARCHAR,
    tool_version  VARCHAR NOT NULL,
    only_repos    VARCHAR[],              -- --only filter, NULL for a full audit
    repos_total   INTEGER,
    repos_extracted INTEGER,
    repos_unchanged INTEGER,
    repos_failed  INTEGER,
    message       VARCHAR                 -- why a run failed or was partial
);

-- One row per repository per run: what the run observed. An unchanged repo costs this row only.
CREATE TABLE git_snapshots (
    run_id        BIGINT NOT NULL,
    repo          VARCHAR NOT NULL,
    url           VARCHAR NOT NULL,       -- credentials removed
    ref           VARCHAR,
    commit_sha    VARCHAR,
    committed_at  TIMESTAMPTZ,
    status        VARCHAR NOT NULL CHECK (status IN ('extracted', 'unchanged', 'empty', 'failed')),
    error         VARCHAR,
    blobs_read    INTEGER NOT NULL DEFAULT 0,
    duration_ms   INTEGER,
    PRIMARY KEY (run_id, repo)
);

-- A commit whose files have been listed and extracted (with this extractor version).
CREATE TABLE git_commits (
    repo              VARCHAR NOT NULL,
    commit_sha        VARCHAR NOT NULL,
    committed_at      TIMESTAMPTZ,
    extractor_version INTEGER NOT NULL,
    extracted_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (repo, commit_sha)
);

-- The files that matter in a commit (not every file of the tree).
CREATE TABLE git_commit_files (
    repo           VARCHAR NOT NULL,
    commit_sha     VARCHAR NOT NULL,
    path           VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,
    blob_sha       VARCHAR,               -- for a symlink followed inside the repo: the target's blob
    mode           VARCHAR NOT NULL,
    symlink_target VARCHAR,
    skipped_reason VARCHAR
);

-- What reading a blob taught us, once per content.
CREATE TABLE git_blobs (
    blob_sha   VARCHAR PRIMARY KEY,
    size       BIGINT NOT NULL,
    is_binary  BOOLEAN NOT NULL,
    is_compose BOOLEAN NOT NULL
);

CREATE TABLE df_files (
    blob_sha          VARCHAR PRIMARY KEY,
    extractor_version INTEGER NOT NULL,
    syntax            VARCHAR,
    escape            VARCHAR,
    check_directive   VARCHAR,
    stage_count       INTEGER NOT NULL,
    final_stage_index INTEGER,
    final_stage_name  VARCHAR,
    global_args       VARCHAR[],
    parse_error       VARCHAR,
    warnings          VARCHAR[]
);

CREATE TABLE df_stages (
    blob_sha          VARCHAR NOT NULL,
    stage_index       INTEGER NOT NULL,
    name              VARCHAR,
    base_as_written   VARCHAR,
    base_resolved     VARCHAR,
    base_kind         VARCHAR,
    base_registry     VARCHAR,
    base_repository   VARCHAR,
    base_tag          VARCHAR,
    base_digest       VARCHAR,
    base_normalized   VARCHAR,
    base_stage_index  INTEGER,
    platform          VARCHAR,
    start_line        INTEGER,
    end_line          INTEGER,
    instruction_count INTEGER,
    final_user        VARCHAR,
    user_inherited    BOOLEAN,
    exposed_ports     VARCHAR[],
    healthcheck       VARCHAR,
    entrypoint        VARCHAR,
    cmd               VARCHAR,
    workdir           VARCHAR,
    is_final          BOOLEAN
);

CREATE TABLE df_instructions (
    blob_sha       VARCHAR NOT NULL,
    seq            INTEGER NOT NULL,
    stage_index    INTEGER,
    keyword        VARCHAR NOT NULL,
    sub_keyword    VARCHAR,
    start_line     INTEGER,
    end_line       INTEGER,
    flags          VARCHAR[],
    arguments      VARCHAR[],
    is_json        BOOLEAN,
    heredoc_names  VARCHAR[],
    heredoc_bodies VARCHAR[],
    text           VARCHAR
);

CREATE TABLE df_packages (
    blob_sha      VARCHAR NOT NULL,
    stage_index   INTEGER,
    seq           INTEGER,
    line          INTEGER,
    manager       VARCHAR NOT NULL,
    package       VARCHAR NOT NULL,
    version       VARCHAR,
    cache_cleaned BOOLEAN
);

CREATE TABLE df_vars (
    blob_sha       VARCHAR NOT NULL,
    stage_index    INTEGER,
    seq            INTEGER,
    kind           VARCHAR NOT NULL,
    key            VARCHAR NOT NULL,
    value          VARCHAR,
    value_redacted BOOLEAN NOT NULL
);

CREATE TABLE df_copies (
    blob_sha         VARCHAR NOT NULL,
    stage_index      INTEGER,
    seq              INTEGER,
    keyword          VARCHAR NOT NULL,
    sources          VARCHAR[],
    destination      VARCHAR,
    from_ref         VARCHAR,
    from_stage_index INTEGER,
    from_image       VARCHAR,
    is_heredoc       BOOLEAN,
    is_remote        BOOLEAN,
    flags            VARCHAR[]
);
