"""Every extractor's output version, in one place.

Facts are stored with the version of the extractor that produced them. When an extractor
changes what it outputs, bump its number here: the next audit reads and extracts again
what was extracted with an older version, and replaces those facts (the "what is known"
reads in `crawl.known` and the writer both use these numbers).
"""

from __future__ import annotations

# A commit's file list, Compose projects and their services (Compose projects span files,
# so they are extracted per commit). 1: Dockerfiles; 2: + Compose projects and repository signals.
# 3: + CODEOWNERS and build manifests (package.json, pyproject.toml, requirements*.txt, Cargo.toml).
# 4: Compose as Compose runs it: file sets of scripts/Makefiles/CI as projects, run-time service fields,
# bare environment keys from .env, Compose's refusals as the project's error.
COMMIT = 4
# Per blob: Dockerfile facts (df_* tables). 2: + `# hadolint ignore=` pragmas (as signals of the blob).
DOCKERFILE = 2
# Per blob: signals of scripts, Makefiles and CI files. 2: + CODEOWNERS rules.
SIGNALS = 2
# Per digest: manifest, index, config and history facts (image_* tables).
IMAGE = 1
# Per layer digest: the file list of a layer scan.
LAYER_SCAN = 1
