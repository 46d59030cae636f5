-- The hash of sql/views/ when the views were last created.
SELECT value FROM hullcheck_meta WHERE key = 'views_hash';
