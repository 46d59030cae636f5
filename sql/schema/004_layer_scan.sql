-- Layer scan (opt-in per registry): files per layer, once per layer digest; a summary per image manifest.

CREATE TABLE layer_scans (
    layer_digest       VARCHAR PRIMARY KEY,
    scan_version       INTEGER NOT NULL,
    uncompressed_bytes BIGINT NOT NULL,
    file_count         INTEGER NOT NULL,
    error              VARCHAR
);

CREATE TABLE layer_file_facts (
    layer_digest VARCHAR NOT NULL,
    path         VARCHAR NOT NULL,
    size         BIGINT NOT NULL,
    mode         INTEGER,
    type         VARCHAR NOT NULL,
    is_elf       BOOLEAN,
    is_upx       BOOLEAN
);

CREATE TABLE image_files_summary_facts (
    manifest_digest    VARCHAR PRIMARY KEY,
    uncompressed_bytes BIGINT,
    final_bytes        BIGINT,
    wasted_bytes       BIGINT,
    file_count         INTEGER,
    upx_files          VARCHAR[],
    toolchains         VARCHAR[],
    data_files         VARCHAR[],
    data_bytes         BIGINT,
    has_shell          BOOLEAN,
    package_managers   VARCHAR[]
);
