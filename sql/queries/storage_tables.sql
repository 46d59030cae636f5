-- hullcheck's own tables (the private storage under the public views), for row counts.
SELECT table_name FROM duckdb_tables()
WHERE database_name = current_database() AND schema_name = 'main' AND NOT temporary
ORDER BY table_name;
