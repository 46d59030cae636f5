-- The public views (every view of the database is public; the tables are private storage), with their
-- description (COMMENT ON VIEW, from docs/schema.md) and column count: what `hullcheck schema` lists.
SELECT v.view_name, v.comment, count(c.column_name) AS columns
FROM duckdb_views() v
LEFT JOIN duckdb_columns() c
  ON c.database_name = v.database_name AND c.schema_name = v.schema_name AND c.table_name = v.view_name
WHERE v.database_name = current_database() AND v.schema_name = 'main' AND NOT v.internal AND NOT v.temporary
GROUP BY ALL
ORDER BY v.view_name;
