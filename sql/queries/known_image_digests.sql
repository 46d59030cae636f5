-- Manifest and config digests already extracted by the current image extractor (parameter: its
-- version): a tag whose HEAD returns one of them costs nothing more.
SELECT digest FROM image_manifest_facts
WHERE extractor_version = $1
UNION ALL
SELECT config_digest FROM image_config_facts
WHERE extractor_version = $1;
