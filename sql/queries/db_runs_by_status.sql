SELECT status, count(*) FROM audit_runs GROUP BY status ORDER BY status;
