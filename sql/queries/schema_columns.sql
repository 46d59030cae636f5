-- One public view's columns in order, with their types and descriptions (COMMENT ON COLUMN).
SELECT column_name, data_type, comment
FROM duckdb_columns()
WHERE database_name = current_database() AND schema_name = 'main' AND table_name = ? AND NOT internal
ORDER BY column_index;
