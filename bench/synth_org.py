"""Generate a synthetic org of N git repositories with history, for benchmarks.

Each repository has three back-dated commits, one to three Dockerfiles drawn from a
few realistic shapes, a Compose file, scripts and source files that hullcheck must
skip. Remotes allow partial clone, as a real forge does.

    python bench/synth_org.py DIR N
"""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hullcheck.demo.gitbuild import Commit, write_repo

BASES = ["python:3.12-slim", "node:20", "golang:1.23", "eclipse-temurin:21-jre", "alpine:3.20", "ubuntu:24.04"]


def dockerfile(rng: random.Random, i: int) -> str:
    base = rng.choice(BASES)
    lines = [f"# service {i}", f"FROM {base} AS build", "WORKDIR /src", "COPY . ."]
    lines += [f"RUN apt-get update && apt-get install -y pkg{rng.randint(0, 50)} pkg{rng.randint(0, 50)}"]
    if rng.random() < 0.5:
        lines += [
            "RUN pip install --no-cache-dir flask==3.0 gunicorn",
            "FROM gcr.io/distroless/base",
            "COPY --from=build /src /app",
        ]
    lines += [f"ENV SERVICE_ID={i}", "USER 1000", f"EXPOSE {8000 + i % 100}", 'CMD ["/app/run"]']
    return "\n".join(lines) + "\n"


def make_org(root: Path, n: int, seed: int = 7, url_base: str | None = None) -> Path:
    """`url_base` (e.g. git://127.0.0.1:9418) replaces the default file:// remotes."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    repos = root / "repos"
    sources = []
    for i in range(n):
        path = repos / f"svc-{i:05d}"
        files: dict[str, bytes | str | None] = {f"src/module_{k}.py": f"x = {k}\n" * 50 for k in range(8)}
        files["Dockerfile"] = dockerfile(rng, i)
        if i % 3 == 0:
            files["docker/worker.Dockerfile"] = dockerfile(rng, i + 1)
        files["compose.yaml"] = f"services:\n  app:\n    build: .\n    image: svc-{i}\n"
        files["Makefile"] = "image:\n\tdocker build -t app .\n"
        files["k8s/deploy.yaml"] = "apiVersion: apps/v1\nkind: Deployment\n"
        files["README.md"] = "# service\n" * 20
        history = [
            Commit(now - timedelta(days=30), files, "initial"),
            Commit(now - timedelta(days=20), {"src/module_0.py": "x = 0\n"}, "fix"),
            Commit(now - timedelta(days=10), {"Dockerfile": dockerfile(rng, i)}, "bump base"),
        ]
        write_repo(path, history)
        subprocess.run(["git", "-C", str(path), "config", "uploadpack.allowFilter", "true"], check=True)
        subprocess.run(["git", "-C", str(path), "config", "uploadpack.allowAnySHA1InWant", "true"], check=True)
        sources.append(f"    - url: {url_base}/{path.name}" if url_base else f"    - url: file://{path}")
    config = root / "hullcheck.yaml"
    config.write_text("database: bench.duckdb\ncache_dir: cache\nsources:\n  git:\n" + "\n".join(sources) + "\n")
    return config


if __name__ == "__main__":
    print(make_org(Path(sys.argv[1]), int(sys.argv[2])))
