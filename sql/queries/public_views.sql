-- The public views (docs/schema.md), and whether each has a run_id column (exports partition by it).
SELECT v.view_name, bool_or(c.column_name = 'run_id') AS by_run, count(c.column_name) AS columns,
       any_value(v.comment) AS description
FROM duckdb_views() v
JOIN duckdb_columns() c ON c.database_name = v.database_name AND c.schema_name = v.schema_name
                       AND c.table_name = v.view_name
WHERE NOT v.internal AND v.database_name = current_database() AND v.schema_name = 'main'
GROUP BY v.view_name
ORDER BY v.view_name;
