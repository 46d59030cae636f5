-- How many repositories run $1 observed (the evaluation sizes its memory by it). Every run, published
-- or not: the evaluation runs before its run is visible.
SELECT count(DISTINCT repo) FROM git_snapshots WHERE run_id = $1;
