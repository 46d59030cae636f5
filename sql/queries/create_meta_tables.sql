-- The store's own bookkeeping, created before any migration runs.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS hullcheck_meta (key VARCHAR PRIMARY KEY, value VARCHAR);
