-- Blobs already read, and whether their facts exist for the current extractor versions
-- (parameters: Dockerfile extractor version, signals extractor version).
SELECT b.blob_sha, b.size, b.is_binary, b.is_compose,
       d.blob_sha IS NOT NULL AS has_dockerfile_facts,
       s.blob_sha IS NOT NULL AS has_signal_facts
FROM git_blobs b
LEFT JOIN df_files d ON d.blob_sha = b.blob_sha AND d.extractor_version = ?
LEFT JOIN signal_files s ON s.blob_sha = b.blob_sha AND s.extractor_version = ?;
