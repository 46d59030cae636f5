INSERT OR REPLACE INTO hullcheck_meta VALUES ('views_hash', ?);
