-- Known digests (images and indexes) with an image manifest that has no layer-scan summary yet:
-- when a registry turns layer_scan on, these are scanned even though their digests did not change.
SELECT m.digest
FROM image_manifest_facts m
WHERE m.kind = 'manifest'
  AND NOT EXISTS (SELECT 1 FROM image_files_summary_facts s WHERE s.manifest_digest = m.digest)
UNION
SELECT c.index_digest
FROM image_index_children c
JOIN image_manifest_facts m ON m.digest = c.child_digest AND m.kind = 'manifest'
WHERE NOT EXISTS (SELECT 1 FROM image_files_summary_facts s WHERE s.manifest_digest = c.child_digest);
