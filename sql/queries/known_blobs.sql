-- Blobs already read (and, for Dockerfiles, extracted with the current extractor).
SELECT b.blob_sha, b.size, b.is_binary, b.is_compose, d.blob_sha IS NOT NULL AS has_dockerfile_facts
FROM git_blobs b
LEFT JOIN df_files d ON d.blob_sha = b.blob_sha AND d.extractor_version = ?;
