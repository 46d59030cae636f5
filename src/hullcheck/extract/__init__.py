"""Pure extractors: bytes in, rows out.

COMMIT_VERSION names what extracting a commit produces; bump it when any extractor
changes its output, and every commit is extracted again on the next audit.
"""

COMPOSE_VERSION = 1
COMMIT_VERSION = 2  # 1: Dockerfiles; 2: + Compose projects and repository signals
