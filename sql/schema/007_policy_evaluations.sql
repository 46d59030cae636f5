-- Policy evaluations (private storage; the public surface is sql/views/040_policies.sql).
-- Every evaluation of a run is kept: re-evaluating with a new catalog or config adds one, and
-- each finding says which catalog version and config produced it.

CREATE SEQUENCE IF NOT EXISTS evaluation_ids START 1;

CREATE TABLE policy_evaluations (
    evaluation_id   BIGINT PRIMARY KEY,
    run_id          BIGINT NOT NULL,
    evaluated_at    TIMESTAMPTZ NOT NULL,
    trigger         VARCHAR NOT NULL,          -- audit | evaluate | backfill
    catalog_version VARCHAR NOT NULL,
    config_hash     VARCHAR,
    tool_version    VARCHAR NOT NULL,
    policies        INTEGER,
    subjects        INTEGER,
    findings        INTEGER,
    errors          INTEGER,
    duration_ms     INTEGER
);

CREATE TABLE eval_teams (
    evaluation_id BIGINT NOT NULL,
    team          VARCHAR NOT NULL,
    profile       VARCHAR NOT NULL,
    email         VARCHAR,
    repos         VARCHAR[],
    images        VARCHAR[],
    codeowners    VARCHAR[]
);

CREATE TABLE eval_subjects (
    evaluation_id BIGINT NOT NULL,
    subject_id    INTEGER NOT NULL,
    subject_kind  VARCHAR NOT NULL,
    subject       VARCHAR NOT NULL,
    repo          VARCHAR,
    path          VARCHAR,
    service       VARCHAR,
    registry      VARCHAR,
    repository    VARCHAR,
    tag           VARCHAR,
    digest        VARCHAR,
    fact_run_id   BIGINT NOT NULL,
    commit_sha    VARCHAR,
    team          VARCHAR NOT NULL,
    profile       VARCHAR NOT NULL,
    situation     VARCHAR NOT NULL,
    decided_by    VARCHAR NOT NULL,
    profile_by    VARCHAR NOT NULL,
    PRIMARY KEY (evaluation_id, subject_id)
);

CREATE TABLE eval_params (
    evaluation_id BIGINT NOT NULL,
    situation     VARCHAR NOT NULL,
    team          VARCHAR NOT NULL,
    profile       VARCHAR NOT NULL,
    override_index INTEGER,
    policy_id     VARCHAR NOT NULL,
    "key"         VARCHAR NOT NULL,
    "value"       VARCHAR NOT NULL,          -- as a person writes it (100 MB, 90d)
    value_json    JSON NOT NULL,             -- the typed value (bytes, seconds, lists)
    source        VARCHAR NOT NULL CHECK (source IN ('default', 'profile', 'team', 'override')),
    set_by        VARCHAR NOT NULL
);

CREATE TABLE eval_findings (
    evaluation_id  BIGINT NOT NULL,
    policy_id      VARCHAR NOT NULL,
    severity       VARCHAR NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    subject_id     INTEGER NOT NULL,
    line           INTEGER,
    stage          VARCHAR,
    message        VARCHAR NOT NULL,
    evidence       JSON,
    params         JSON,
    fingerprint    VARCHAR NOT NULL,
    waived         BOOLEAN NOT NULL,
    waiver_reason  VARCHAR,
    waiver_expires DATE,
    waived_by      VARCHAR
);

CREATE TABLE eval_errors (
    evaluation_id BIGINT NOT NULL,
    policy_id     VARCHAR NOT NULL,
    error         VARCHAR NOT NULL
);

CREATE TABLE eval_waivers (
    evaluation_id BIGINT NOT NULL,
    waiver_index  INTEGER NOT NULL,
    policy_id     VARCHAR NOT NULL,
    subject       VARCHAR NOT NULL,
    team          VARCHAR,
    reason        VARCHAR NOT NULL,
    author        VARCHAR NOT NULL,
    expires       DATE NOT NULL,
    status        VARCHAR NOT NULL CHECK (status IN ('active', 'expiring', 'expired', 'stale')),
    matched       INTEGER NOT NULL
);
