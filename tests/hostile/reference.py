"""The RSS yardstick: a plain org of the same size as the hostile corpus (as many repositories,
layouts and registry images), with ordinary content: multi-stage Dockerfiles, Compose projects,
.env files, scripts, CI files; small valid images (layouts rotate directory / OCI archive /
docker save), registry images with a few small layers, scanned like the hostile ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hostile.blobs import (
    RawImage,
    RawLayer,
    config_doc,
    docker_save_files,
    files_tar,
    layout_files,
    tree_tar,
    write_tree,
)
from hostile.gitrepo import write_many


@dataclass
class Reference:
    root: Path
    repos: list[Path] = field(default_factory=list)
    layouts: list[Path] = field(default_factory=list)
    pushes: list[tuple[str, str, Any]] = field(default_factory=list)

    @property
    def registry_repos(self) -> list[str]:
        return sorted({repo for repo, _, _ in self.pushes})


def _repo_files(i: int) -> dict[str | bytes, str | bytes]:
    return {
        "Dockerfile": (
            f"# syntax=docker/dockerfile:1.7\nARG PYTHON=3.12-slim\nFROM python:${{PYTHON}} AS build{i}\n"
            "WORKDIR /src\nCOPY requirements.txt .\n"
            "RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt\n"
            f"COPY . .\nRUN python -m compileall -q . && echo build {i}\n"
            "FROM python:${PYTHON}\nRUN apt-get update && apt-get install -y --no-install-recommends libpq5 curl "
            "&& rm -rf /var/lib/apt/lists/*\n"
            f"COPY --from=build{i} /src /app\nUSER 10001\nEXPOSE {8000 + i % 1000}\n"
            'HEALTHCHECK CMD curl -f http://localhost:8000/health || exit 1\nCMD ["python", "/app/main.py"]\n'
        ),
        "compose.yaml": (
            f"name: svc{i}\nservices:\n  app:\n    build: .\n    image: registry.example/svc{i}:latest\n"
            "    ports: ['8000:8000']\n    env_file: .env\n    depends_on:\n      db: {condition: service_healthy}\n"
            "  db:\n    image: postgres:16\n    environment:\n      POSTGRES_DB: app\n"
            "    volumes: [db:/var/lib/postgresql/data]\n"
            "    healthcheck:\n      test: [CMD, pg_isready]\n  cache:\n    image: redis:7\n"
            "    deploy:\n      resources:\n        limits: {cpus: '0.5', memory: 256M}\nvolumes:\n  db: {}\n"
        ),
        ".env": f"APP_ENV=production\nLOG_LEVEL=info\nWORKERS={1 + i % 8}\n",
        "build.sh": f"#!/bin/sh\nset -e\ndocker build -t registry.example/svc{i}:$GIT_SHA .\n"
        "docker compose -f compose.yaml run app pytest\n",
        ".gitlab-ci.yml": f"build:\n  script:\n    - docker build -t svc{i} .\n",
        "Makefile": "image:\n\tdocker build -t app .\n",
        "requirements.txt": "flask==3.0\npsycopg[binary]\n",
        "main.py": f"print('service {i}')\n",
        "docs/README.md": "# service\n" * 20,
    }


def _image(i: int) -> RawImage:
    layers = [RawLayer.of(files_tar({f"app/f{j}.py": b"x = %d\n" % (i * 100 + j) for j in range(10)}))]
    return RawImage(
        layers,
        config_doc(
            layers,
            env=["PATH=/usr/bin:/bin", f"APP=svc{i}"],
            cmd=["python", "app.py"],
            labels={"org.opencontainers.image.source": f"https://git.example/svc{i}"},
        ),
    )


def build_reference(root: Path, n_git: int, n_layouts: int, n_registry: int) -> Reference:
    ref = Reference(root)
    pending = []
    for i in range(n_git):
        path = root / "repos" / f"plain{i:03d}"
        pending.append((path, _repo_files(i), {}))
        ref.repos.append(path)
    write_many(pending)
    (root / "layouts").mkdir(parents=True, exist_ok=True)
    for i in range(n_layouts):
        img = _image(10_000 + i)
        if i % 3 == 0:
            path = write_tree(root / "layouts" / f"plain{i:03d}", layout_files({f"svc{i}:1": img}))
        elif i % 3 == 1:
            path = root / "layouts" / f"plain{i:03d}.tar"
            path.write_bytes(tree_tar(layout_files({f"svc{i}:1": img})))
        else:
            path = root / "layouts" / f"plain{i:03d}.tar"
            path.write_bytes(tree_tar(docker_save_files({f"svc{i}:1": img})))
        ref.layouts.append(path)
    for i in range(n_registry):
        ref.pushes.append((f"plain/svc{i:03d}", "latest", _image(20_000 + i)))
    return ref
