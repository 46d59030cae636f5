"""Pure commit extraction: files in memory become exactly the rows an audit of a real repository stores.

The rows are built by `extract_files` with no git and no database; they are then compared,
column by column, with what a real audit of the same files in a real git repository shows in
the public views. Policy fixtures rely on this: their cases go through the same extractors.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import astuple, fields
from typing import Any

from support.org import Org, days_ago

from hullcheck.audit import run_audit
from hullcheck.demo.gitbuild import Commit
from hullcheck.extract.commit import CommitRows, extract_files

MAX_BYTES = 4096

FILES: dict[str, bytes] = {
    "Dockerfile": b"""\
# syntax=docker/dockerfile:1.7
ARG BASE=python:3.12-slim
FROM ${BASE} AS build
RUN apt-get update && apt-get install -y gcc libpq-dev
RUN pip install --prefix=/install flask==3.0
FROM ${BASE}
ENV DB_PASSWORD=hunter2 APP_ENV=prod
COPY --from=build /install /usr/local
COPY app/ /app/
RUN <<EOF
set -eux
adduser --disabled-password app
EOF
USER app
EXPOSE 8080
CMD ["python", "/app/main.py"]
""",
    "services/api/Dockerfile.dev": b"FROM node:20\nRUN npm install -g pnpm\nCOPY . /src\n",
    "docker/broken.Dockerfile": b"FROM alpine\nRUN\nNOT_AN_INSTRUCTION x\n",
    "docker/huge.Dockerfile": b"FROM alpine\n" + b"RUN echo padding\n" * 400,  # over MAX_BYTES
    "assets/blob.Dockerfile": b"\x00\x01binary\x00",
    "compose.yaml": b"""\
services:
  app:
    build: .
    ports: ["8080:8080"]
    environment:
      DB_HOST: db
      API_TOKEN: s3cr3t-value
      FOO:
    env_file: .env.app
    depends_on: [db]
  db:
    image: postgres:16
    volumes: ["./data:/var/lib/postgresql/data"]
  adminer:
    image: adminer
    profiles: [debug]
""",
    "compose.override.yaml": b"services:\n  app:\n    environment:\n      DEBUG: '1'\n",
    ".env": b"COMPOSE_PROFILES=debug\nFOO=from-dotenv\n",
    ".env.app": b"X=1\n",
    "deploy/stack.yml": b"version: '3.8'\nservices:\n  web:\n    image: nginx:${TAG:-1.27}\n    privileged: true\n",
    "k8s/deployment.yaml": b"apiVersion: apps/v1\nkind: Deployment\n",
    "scripts/build.sh": b"DOCKER_BUILDKIT=0 docker build -t a .\n"
    b"docker build -f x.Dockerfile .\ndocker compose exec app sh\n",
    "Makefile": b"image:\n\tdocker build -t tools .\n",
    ".github/workflows/ci.yml": b"on: push\njobs:\n  b:\n    steps:\n"
    b"      - run: docker compose -f deploy/stack.yml run web\n",
    "go.mod": b"module example.org/x\n",
    "pom.xml": b"<project/>\n",
    "BUILD.bazel": b"",
    ".dockerignore": b"*.md\n",
    "README.md": b"# not a build file\n",
}
SYMLINKS = {"Containerfile": "Dockerfile", "outside.Dockerfile": "../../etc/passwd"}


def _view(org: Org, view: str, columns: list[str]) -> list[tuple[Any, ...]]:
    quoted = ", ".join(f'"{c}"' for c in columns)
    return sorted(org.query(f"SELECT DISTINCT {quoted} FROM {view}"), key=repr)


def _plain(v: Any) -> Any:
    """Dataclass values as DuckDB returns structs: dicts (lists of them for nested rows)."""
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if hasattr(v, "__dataclass_fields__"):
        return {f.name: _plain(getattr(v, f.name)) for f in fields(v)}
    return v


def _rows(prefix: tuple[Any, ...], row: Any) -> tuple[Any, ...]:
    return (*prefix, *(_plain(getattr(row, f.name)) for f in fields(row)))


def _columns(row_type: type) -> list[str]:
    return [f.name for f in fields(row_type)]


def test_rows_from_memory_equal_the_rows_an_audit_of_a_real_repository_stores(org: Org) -> None:
    org.repo("shop", [Commit(days_ago(2), dict(FILES), symlinks=SYMLINKS)])
    org.extra["max_file_bytes"] = MAX_BYTES
    summary = run_audit(org.config())
    assert summary.status == "ok", summary.git.failures
    commit = org.scalar("SELECT commit_sha FROM latest_repo_snapshots")

    rows: CommitRows = extract_files(FILES, repo="shop", commit=str(commit), max_bytes=MAX_BYTES, symlinks=SYMLINKS)

    # Files: every column of git_commit_files, as repo_files shows it; blob sizes as git_blobs gives them.
    file_cols = _columns(type(rows.files[0]))
    assert _view(org, "latest_repo_files", file_cols) == sorted((astuple(f) for f in rows.files), key=repr)
    listed = {f.blob_sha for f in rows.files}  # a YAML file read and found not to be Compose is not listed
    sizes = {b.blob_sha: b.size for b in rows.blobs if b.blob_sha in listed}
    stored_sizes = dict(org.query("SELECT DISTINCT blob_sha, size FROM latest_repo_files WHERE size IS NOT NULL"))
    assert stored_sizes == sizes

    # Dockerfiles: the file facts and every per-blob table, through their public views.
    assert rows.dockerfiles, "the corpus has Dockerfiles"
    some = next(iter(rows.dockerfiles.values()))
    for view, attr in (
        ("latest_dockerfile_stages", "stages"),
        ("latest_dockerfile_instructions", "instructions"),
        ("latest_dockerfile_packages", "packages"),
        ("latest_dockerfile_vars", "vars"),
        ("latest_dockerfile_copies", "copies"),
    ):
        expected = sorted((_rows((sha,), r) for sha, f in rows.dockerfiles.items() for r in getattr(f, attr)), key=repr)
        assert expected, f"the corpus exercises {view}"
        assert _view(org, view, ["blob_sha", *_columns(type(getattr(some, attr)[0]))]) == expected, view
    df_cols = _columns(type(some.file))
    expected_files = sorted((_rows((sha,), f.file) for sha, f in rows.dockerfiles.items()), key=repr)
    stored_files = org.query(
        f"SELECT DISTINCT blob_sha, {', '.join(df_cols)} FROM latest_dockerfiles WHERE stage_count IS NOT NULL"
    )
    assert sorted(stored_files, key=repr) == expected_files

    # Compose: projects and services (nested rows as structs), as the public views show them.
    assert len(rows.compose) == 2, [c.project.files for c in rows.compose]
    project_cols = _columns(type(rows.compose[0].project))
    assert _view(org, "latest_compose_projects", project_cols) == sorted(
        (_rows((), c.project) for c in rows.compose), key=repr
    )
    service_cols = _columns(type(rows.compose[0].services[0]))
    assert _view(org, "latest_compose_services", ["project_dir", *service_cols]) == sorted(
        (_rows((c.project.project_dir,), s) for c in rows.compose for s in c.services), key=repr
    )

    # Signals of scripts, Makefiles and CI files, by blob.
    by_sha = {f.blob_sha: f.path for f in rows.files}
    expected_signals = sorted(
        ((by_sha[sha], r.line, r.signal, r.detail) for sha, rs in rows.signals.items() for r in rs), key=repr
    )
    assert expected_signals
    assert _view(org, "latest_repo_signals", ["path", "line", "signal", "detail"]) == expected_signals


def test_extract_files_needs_neither_git_nor_a_database() -> None:
    """Run in a fresh interpreter where git and duckdb cannot be imported or run."""
    code = """
import sys, os
sys.modules["duckdb"] = None  # importing it now fails
sys.modules["git"] = None
os.environ["PATH"] = ""  # no git binary either
from hullcheck.extract.commit import extract_files
rows = extract_files({"Dockerfile": b"FROM alpine:3.20\\nUSER 1000\\n",
                       "compose.yaml": b"services:\\n  a:\\n    image: x\\n"})
assert [f.path for f in rows.files] == ["Dockerfile", "compose.yaml"], rows.files
assert len(rows.dockerfiles) == 1 and len(rows.compose) == 1
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
