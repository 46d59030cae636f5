-- The file rows of one scanned layer, to summarise a new image that reuses it.
SELECT s.uncompressed_bytes, f.path, f.size, f.mode, f.type, f.is_elf, f.is_upx
FROM layer_scans s
LEFT JOIN layer_file_facts f ON f.layer_digest = s.layer_digest
WHERE s.layer_digest = ? AND s.scan_version = ? AND s.error IS NULL;
