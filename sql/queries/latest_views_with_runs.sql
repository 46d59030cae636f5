-- The public latest_* views that carry a run id: runs they rest on are never pruned.
SELECT DISTINCT table_name FROM duckdb_columns()
WHERE database_name = current_database() AND schema_name = 'main'
  AND table_name LIKE 'latest\_%' ESCAPE '\' AND column_name = 'run_id'
  AND table_name IN (SELECT view_name FROM duckdb_views() WHERE NOT internal)
ORDER BY table_name;
