-- Registry observations (per run) and image facts (once per digest: manifests and configs
-- are content-addressed, so an image seen in 500 tags or 500 nights is stored once).

CREATE TABLE registry_snapshots (
    run_id     BIGINT NOT NULL,
    registry   VARCHAR NOT NULL,
    repository VARCHAR,           -- NULL when the registry itself failed (catalog, auth, unreachable)
    tag        VARCHAR,           -- NULL when the repository failed (tag list)
    digest     VARCHAR,
    media_type VARCHAR,
    status     VARCHAR NOT NULL CHECK (status IN ('new', 'known', 'failed')),
    error      VARCHAR
);

CREATE TABLE image_manifest_facts (
    digest           VARCHAR PRIMARY KEY,
    media_type       VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL CHECK (kind IN ('index', 'manifest')),
    size             BIGINT,
    config_digest    VARCHAR,
    layer_count      INTEGER,
    compressed_bytes BIGINT,
    annotations      STRUCT("key" VARCHAR, "value" VARCHAR)[]
);

CREATE TABLE image_index_children (
    index_digest VARCHAR NOT NULL,
    child_digest VARCHAR NOT NULL,
    media_type   VARCHAR,
    size         BIGINT,
    os           VARCHAR,
    architecture VARCHAR,
    variant      VARCHAR
);

CREATE TABLE image_layer_facts (
    manifest_digest VARCHAR NOT NULL,
    layer_index     INTEGER NOT NULL,
    digest          VARCHAR NOT NULL,
    media_type      VARCHAR,
    size            BIGINT
);

CREATE TABLE image_config_facts (
    config_digest VARCHAR PRIMARY KEY,
    os            VARCHAR,
    architecture  VARCHAR,
    variant       VARCHAR,
    created       VARCHAR,
    "user"        VARCHAR,
    entrypoint    VARCHAR[],
    cmd           VARCHAR[],
    workdir       VARCHAR,
    env           STRUCT("key" VARCHAR, "value" VARCHAR, redacted BOOLEAN)[],
    labels        STRUCT("key" VARCHAR, "value" VARCHAR, redacted BOOLEAN)[],
    exposed_ports VARCHAR[],
    volumes       VARCHAR[],
    healthcheck   VARCHAR[],
    stop_signal   VARCHAR,
    diff_id_count INTEGER
);

CREATE TABLE image_history_facts (
    config_digest VARCHAR NOT NULL,
    history_index INTEGER NOT NULL,
    created       VARCHAR,
    created_by    VARCHAR,
    "comment"     VARCHAR,
    empty_layer   BOOLEAN,
    layer_index   INTEGER
);
