-- Parameters: version, file name.
INSERT INTO schema_migrations VALUES (?, ?, now());
