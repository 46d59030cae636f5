-- Compose projects (per commit: a project spans several files) and repository signals
-- (per blob, like Dockerfile facts).

CREATE TABLE compose_project_facts (
    repo              VARCHAR NOT NULL,
    commit_sha        VARCHAR NOT NULL,
    project_dir       VARCHAR NOT NULL,
    name              VARCHAR,
    files             VARCHAR[],
    included_files    VARCHAR[],
    env_file          VARCHAR,
    active_profiles   VARCHAR[],
    declared_profiles VARCHAR[],
    service_count     INTEGER NOT NULL,
    warnings          VARCHAR[],
    error             VARCHAR
);

CREATE TABLE compose_service_facts (
    repo                    VARCHAR NOT NULL,
    commit_sha              VARCHAR NOT NULL,
    project_dir             VARCHAR NOT NULL,
    project_files           VARCHAR[] NOT NULL,   -- with project_dir, identifies the project
    service                 VARCHAR NOT NULL,
    image                   VARCHAR,
    build_context           VARCHAR,
    build_dockerfile        VARCHAR,
    build_dockerfile_inline BOOLEAN,
    build_target            VARCHAR,
    build_args              VARCHAR[],
    build_platforms         VARCHAR[],
    profiles                VARCHAR[],
    depends_on              STRUCT(service VARCHAR, condition VARCHAR, restart BOOLEAN, required BOOLEAN)[],
    privileged              BOOLEAN,
    network_mode            VARCHAR,
    pid                     VARCHAR,
    ipc                     VARCHAR,
    cap_add                 VARCHAR[],
    "user"                  VARCHAR,
    restart                 VARCHAR,
    healthcheck             BOOLEAN,
    environment             STRUCT("key" VARCHAR, "value" VARCHAR, redacted BOOLEAN)[],
    env_files               VARCHAR[],
    ports                   STRUCT(target INTEGER, published VARCHAR, protocol VARCHAR, host_ip VARCHAR, "mode" VARCHAR)[],
    volumes                 STRUCT("type" VARCHAR, "source" VARCHAR, target VARCHAR, read_only BOOLEAN)[],
    mounts_docker_socket    BOOLEAN,
    secrets                 VARCHAR[],
    configs                 VARCHAR[],
    cpus_limit              DOUBLE,
    memory_limit            BIGINT,
    networks                VARCHAR[]
);

CREATE TABLE signal_files (
    blob_sha          VARCHAR PRIMARY KEY,
    extractor_version INTEGER NOT NULL
);

CREATE TABLE signal_facts (
    blob_sha VARCHAR NOT NULL,
    line     INTEGER NOT NULL,
    signal   VARCHAR NOT NULL,
    detail   VARCHAR
);
