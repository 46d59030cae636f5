-- Tags of a registry observed before: their digest is checked with one HEAD; new tags go straight to GET.
SELECT DISTINCT repository, tag
FROM registry_snapshots
WHERE registry = ? AND tag IS NOT NULL AND status <> 'failed';
