-- Manifest and config digests already extracted: a tag whose HEAD returns one of them costs nothing more.
SELECT digest FROM image_manifest_facts
UNION ALL
SELECT config_digest FROM image_config_facts;
