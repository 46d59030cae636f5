"""Pure extractors: bytes in, rows out. No network, no database, no git.

- `files`: which repository paths matter, by path alone (`FileKind`);
- `commit`: one commit's rows from its tree and a reader (plan the reads, then extract);
- `dockerfile/`, `compose/`, `signals`: per-file (and per-Compose-project) extractors;
- `image/`: manifests, indexes, configs, image references, layer scans;
- `versions`: every extractor's output version.
"""
