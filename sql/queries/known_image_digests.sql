-- Digests the image crawl may skip: extracted by the current image extractor (parameter: its
-- version) and complete. A config is complete when stored; an image manifest when its config
-- is; an index when every platform image it lists is. Anything incomplete (a night that failed
-- half-way under older code) is not "known", so the next night fetches it again and repairs it.
WITH configs AS (
    SELECT config_digest AS digest FROM image_config_facts WHERE extractor_version = $1
), manifests AS (
    SELECT m.digest FROM image_manifest_facts m
    WHERE m.extractor_version = $1 AND m.kind = 'manifest'
      AND (m.config_digest IS NULL OR m.config_digest IN (SELECT digest FROM configs))
), indexes AS (
    SELECT m.digest FROM image_manifest_facts m
    WHERE m.extractor_version = $1 AND m.kind = 'index'
      AND NOT EXISTS (SELECT 1 FROM image_index_children c
                      WHERE c.index_digest = m.digest AND c.child_digest NOT IN (SELECT digest FROM manifests))
)
SELECT digest FROM configs
UNION ALL
SELECT digest FROM manifests
UNION ALL
SELECT digest FROM indexes;
