-- Image facts carry the version of the extractor that produced them, as Dockerfile facts do:
-- when the image extractor changes, digests extracted by an older version are fetched and
-- extracted again (their children, layers and history rows are replaced, not duplicated).
ALTER TABLE image_manifest_facts ADD COLUMN extractor_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE image_config_facts ADD COLUMN extractor_version INTEGER NOT NULL DEFAULT 1;
