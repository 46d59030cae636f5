"""The embedded demo org: a few teams' repositories with three weeks of history, and its config."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hullcheck.demo.images import write_demo_layout
from hullcheck.demo.gitbuild import Commit, write_repo

_PAYMENTS_V1 = """\
FROM python:3.12
RUN apt-get update && apt-get install -y gcc build-essential libpq-dev
COPY . /app
RUN pip install -r /app/requirements.txt
ENV DB_PASSWORD=changeme
CMD ["python", "/app/main.py"]
"""
_PAYMENTS_V2 = """\
# syntax=docker/dockerfile:1.7
ARG PYTHON=python:3.12-slim
FROM ${PYTHON} AS build
RUN --mount=type=cache,target=/root/.cache/pip pip install --prefix=/install flask==3.0 psycopg[binary]
FROM ${PYTHON}
COPY --from=build /install /usr/local
COPY app/ /app/
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=30s CMD python -c "import urllib.request as u; u.urlopen('http://localhost:8080/health')"
CMD ["python", "/app/main.py"]
"""
_FRONTEND = """\
FROM node:20 AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
FROM deps AS build
COPY . .
RUN npm run build
FROM nginx:1.27-alpine
COPY --from=build /src/dist /usr/share/nginx/html
EXPOSE 80
"""
_NOTEBOOKS = """\
FROM jupyter/scipy-notebook:latest
USER root
RUN apt-get update && apt-get install -y --no-install-recommends graphviz && rm -rf /var/lib/apt/lists/*
USER jovyan
RUN pip install torch torchvision scikit-learn==1.5 xgboost
COPY data/ /home/jovyan/data/
"""
_TOOLS = """\
FROM alpine:3.20
RUN apk add curl jq git openssh-client bash make python3 py3-pip terraform kubectl helm
RUN <<EOF
set -eux
pip install --break-system-packages ansible awscli
EOF
ENTRYPOINT ["/bin/bash"]
"""
_MONOLITH = """\
ARG BASE=eclipse-temurin
ARG JDK_VERSION=21
FROM maven:3.9-eclipse-temurin-${JDK_VERSION} AS build
WORKDIR /src
COPY pom.xml .
RUN mvn -q dependency:go-offline
COPY src ./src
RUN mvn -q package -DskipTests
FROM ${BASE}:${JDK_VERSION}-jre
COPY --from=build /src/target/app.jar /app.jar
ENTRYPOINT ["java", "-jar", "/app.jar"]
"""
_COMPOSE = """\
services:
  app:
    build: .
    ports: ["8080:8080"]
    environment:
      DB_HOST: db
  db:
    image: postgres:16
  adminer:
    image: adminer
"""

_RUNNER = """\
services:
  runner:
    image: gitlab/gitlab-runner:latest
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
      - ./config:/etc/gitlab-runner
"""


def _histories(now: datetime) -> dict[str, list[Commit]]:
    w0, w1, w2 = (now - timedelta(days=d) for d in (21, 14, 7))
    return {
        "payments-api": [
            Commit(w0, {"Dockerfile": _PAYMENTS_V1, "requirements.txt": "flask\n", "main.py": "print(1)\n"}),
            Commit(w2, {"Dockerfile": _PAYMENTS_V2}, "multi-stage build, non-root user"),
        ],
        "web-frontend": [
            Commit(w0, {"Dockerfile": _FRONTEND, "package.json": "{}\n", ".dockerignore": "node_modules\n"}),
        ],
        "ml-notebooks": [
            Commit(w1, {"docker/Dockerfile": _NOTEBOOKS, "notebook.yml": "services:\n  lab:\n    build: docker\n"}),
        ],
        "infra-tools": [
            Commit(w0, {"Containerfile": _TOOLS, "build.sh": "DOCKER_BUILDKIT=0 docker build -t tools .\n"}),
            Commit(w1, {"Makefile": "image:\n\tdocker build -t tools .\n", "compose.yaml": _RUNNER}),
        ],
        "billing-monolith": [
            Commit(w0, {"Dockerfile": _MONOLITH, "pom.xml": "<project/>\n", "compose.yaml": _COMPOSE}),
            Commit(w2, {".env": "COMPOSE_PROJECT_NAME=billing\nDB_PASSWORD=not-in-git-please\n"}),
        ],
    }


_CONFIG = """\
# The demo org: every repository under repos/, four teams with their own workload profile.
database: hullcheck.duckdb
cache_dir: .cache
sources:
  git:
    - path_glob: repos/*
layouts:
  - path: images   # images exported by CI as an OCI layout (registries: see hullcheck.yaml at the repo root)
teams:
  - name: payments
    profile: microservice
    email: payments@example.org
    repos: ["payments-*", "billing-*"]
  - name: web
    profile: microservice
    repos: ["web-*"]
  - name: data
    profile: datascience
    repos: ["ml-*"]
  - name: platform
    profile: tooling
    repos: ["infra-*"]
"""


def create_demo_org(directory: Path) -> Path:
    """Write the demo repositories and `hullcheck.yaml` under `directory`; returns the config path.

    Existing repositories are kept, so running the demo twice shows an incremental audit.
    """
    directory = directory.resolve()
    now = datetime.now(UTC).replace(microsecond=0)
    for name, commits in _histories(now).items():
        target = directory / "repos" / name
        if not target.exists():
            write_repo(target, commits)
    layout = directory / "images"
    if not layout.exists():
        heads = {
            name: (directory / "repos" / name / ".git" / "refs" / "heads" / "main").read_text().strip()
            for name in ("payments-api", "infra-tools")
        }
        write_demo_layout(layout, directory / "repos", heads)
    config = directory / "hullcheck.yaml"
    config.write_text(_CONFIG, encoding="utf-8")
    return config
