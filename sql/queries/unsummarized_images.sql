-- Known digests (images and indexes) with an image manifest that has no layer-scan summary yet:
-- when a registry turns layer_scan on, these are scanned even though their digests did not change.
-- Artifacts (a layer that is not a tar: signatures, charts, SBOMs) are never scanned, so never listed.
WITH scannable AS (
    SELECT m.digest
    FROM image_manifest_facts m
    WHERE m.kind = 'manifest'
      AND NOT EXISTS (SELECT 1 FROM image_files_summary_facts s WHERE s.manifest_digest = m.digest)
      AND NOT EXISTS (SELECT 1 FROM image_layer_facts l
                      WHERE l.manifest_digest = m.digest AND coalesce(l.media_type, '') NOT LIKE '%tar%')
)
SELECT digest FROM scannable
UNION
SELECT c.index_digest FROM image_index_children c JOIN scannable s ON s.digest = c.child_digest;
