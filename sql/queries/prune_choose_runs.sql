-- The runs `hullcheck db prune` drops: those that describe a moment before the cutoff ($1), by
-- effective_at (a backfill's as_of, else its start), never the newest committed run, never one
-- still running (none is, under the writer lock, except runs a killed audit left, which go too).
CREATE OR REPLACE TEMP TABLE prune_runs AS
SELECT run_id
FROM audit_runs
WHERE coalesce(as_of, started_at) < $1
  AND run_id <> coalesce((SELECT max(run_id) FROM audit_runs WHERE status IN ('ok', 'partial')), -1);
