-- The as-of moments already audited by a committed run: a backfill skips them (idempotent).
SELECT as_of FROM runs WHERE as_of IS NOT NULL AND status IN ('ok', 'partial');
