"""Compose projects and repository signals, crawled from real git repositories into the views."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from support.org import Org, days_ago

from hullcheck.audit import run_audit
from hullcheck.demo.gitbuild import Commit

APP = "services:\n  app:\n    build: .\n    image: org/app\n    depends_on: [db]\n  db:\n    image: postgres:16\n"


def test_discovery_rules(org: Org) -> None:
    org.repo(
        "shop",
        [
            Commit(
                days_ago(2),
                {
                    "compose.yaml": APP,  # default name + its override: one project
                    "compose.override.yaml": "services:\n  app:\n    ports: ['8080:80']\n",
                    "Dockerfile": "FROM python:3.12\n",
                    "deploy/docker-stack.yml": "services:\n  web:\n    image: org/web\n",  # any YAML with services:
                    "notebooks/notebook.yml": "services:\n  lab:\n    image: jupyter/base\n",
                    "ops/.env": "COMPOSE_FILE=base.yml:extra.yml\nCOMPOSE_PROFILES=debug\n",  # COMPOSE_FILE in .env
                    "ops/base.yml": "services:\n  ops:\n    image: org/ops\n",
                    "ops/extra.yml": (
                        "services:\n  ops:\n    privileged: true\n  dbg:\n    image: x\n    profiles: [debug]\n"
                    ),
                    "lib/common.yml": "services:\n  shared:\n    image: org/shared\n",
                    "svc/compose.yaml": "include: [../lib/common.yml]\nservices:\n  svc:\n    image: org/svc\n",
                    "k8s/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\n",  # not Compose
                },
            )
        ],
    )
    assert run_audit(org.config()).status == "ok"
    projects = {
        (r[0], tuple(r[1])): r[2:]
        for r in org.query(
            "SELECT project_dir, files, name, service_count, error, active_profiles FROM latest_compose_projects"
        )
    }
    assert projects == {
        ("", ("compose.yaml", "compose.override.yaml")): ("shop", 2, None, []),
        ("deploy", ("deploy/docker-stack.yml",)): ("deploy", 1, None, []),
        ("notebooks", ("notebooks/notebook.yml",)): ("notebooks", 1, None, []),
        ("ops", ("ops/base.yml", "ops/extra.yml")): ("ops", 2, None, ["debug"]),
        ("svc", ("svc/compose.yaml",)): ("svc", 2, None, []),  # lib/common.yml is a part, not a project
    }
    app = org.query(
        "SELECT build_dockerfile, build_dockerfile_blob_sha IS NOT NULL, depends_on[1].service, ports[1].published "
        "FROM latest_compose_services WHERE service = 'app'"
    )
    assert app == [("Dockerfile", True, "db", "8080")]  # linked to the Dockerfile facts of the same commit
    stages = org.query(
        "SELECT st.base_normalized FROM latest_compose_services c JOIN latest_dockerfile_stages st "
        "ON st.run_id = c.run_id AND st.repo = c.repo AND st.path = c.build_dockerfile"
    )
    assert stages == [("docker.io/library/python:3.12",)]


def test_an_invalid_file_never_stops_the_other_projects(org: Org) -> None:
    org.repo(
        "mixed",
        [
            Commit(
                days_ago(1),
                {
                    "compose.yaml": "services:\n  ok:\n    image: fine\n",
                    "broken/compose.yaml": "services:\n  bad:\n    image: [unclosed\n",
                    "required/compose.yaml": "services:\n  r:\n    image: x:${TAG:?set TAG first}\n",
                    "big/compose.yaml": "services:\n  b:\n    image: x\n" + "# padding\n" * 200_000,
                },
            )
        ],
    )
    org.extra["max_file_bytes"] = 1_000_000
    assert run_audit(org.config()).status == "ok"  # file problems are facts, not repository failures
    rows = dict(org.query("SELECT project_dir, coalesce(error, 'ok') FROM latest_compose_projects"))
    assert rows[""] == "ok"
    assert "invalid YAML" in rows["broken"] and "broken/compose.yaml:4" in rows["broken"]
    assert "required variable TAG: set TAG first" in rows["required"]
    assert "big" not in rows  # over the size cap: recorded as a skipped file, not loaded
    skipped = org.scalar("SELECT skipped_reason FROM latest_repo_files WHERE path = 'big/compose.yaml'")
    assert "size cap" in str(skipped)


def test_repo_signals(org: Org) -> None:
    org.repo(
        "builds",
        [
            Commit(
                days_ago(1),
                {
                    "build.sh": (
                        "#!/bin/sh\nset -e\nDOCKER_BUILDKIT=0 docker build -t api .\n"
                        "docker buildx build \\\n  -t worker -f Dockerfile.worker .\n# docker build ignored\n"
                    ),
                    "Makefile": "test:\n\tdocker compose -f compose.yaml -f compose.ci.yml exec -T app pytest\n",
                    ".gitlab-ci.yml": (
                        "variables:\n  DOCKER_BUILDKIT: 0\nmigrate:\n  script: docker-compose run --rm migrate\n"
                    ),
                },
            )
        ],
    )
    run_audit(org.config())
    got = org.query("SELECT path, line, signal, detail FROM latest_repo_signals ORDER BY path, line, signal, detail")
    assert got == [
        (".gitlab-ci.yml", 2, "buildkit_disabled", "DOCKER_BUILDKIT: 0"),
        (".gitlab-ci.yml", 4, "compose_run", "run --rm migrate"),
        ("Makefile", 2, "compose_exec", "exec -T app"),
        ("Makefile", 2, "compose_file", "compose.ci.yml"),
        ("Makefile", 2, "compose_file", "compose.yaml"),
        ("build.sh", 3, "buildkit_disabled", "DOCKER_BUILDKIT=0 docker build -t api ."),
        ("build.sh", 3, "docker_build", "DOCKER_BUILDKIT=0 docker build -t api ."),
        ("build.sh", 4, "docker_build", "docker buildx build    -t worker -f Dockerfile.worker ."),
    ]
    per_file = org.query("SELECT path, count(*) FROM latest_repo_signals WHERE signal = 'docker_build' GROUP BY path")
    assert per_file == [("build.sh", 2)]


def test_unchanged_compose_costs_nothing_and_a_change_reloads_the_project(org: Org) -> None:
    path = org.repo("c", [Commit(days_ago(3), {"compose.yaml": APP, ".env": "TAG=1\n"})])
    cfg = org.config()
    run_audit(cfg)
    again = run_audit(cfg)
    assert again.git.stats.blobs_read == 0 and org.scalar("SELECT count(*) FROM compose_project_facts") == 1
    from hullcheck.demo.gitbuild import write_repo

    write_repo(path, [Commit(days_ago(1), {".env": "TAG=2\nCOMPOSE_PROFILES=x\n"})])
    run_audit(cfg)
    assert org.query("SELECT active_profiles FROM latest_compose_projects") == [(["x"],)]
    assert org.scalar("SELECT count(*) FROM compose_project_facts") == 2  # one per audited commit


LAYERS = {
    "compose.yaml": "services:\n  app:\n    image: org/app\n    depends_on: [db]\n  db:\n    image: postgres:16\n",
    "compose.full.yaml": "services:\n  app:\n    environment: [MODE]\n  worker:\n    image: org/worker\n",
    "compose.observability.yaml": (
        "services:\n  grafana:\n    image: grafana/grafana\n  prom:\n    image: prom/prometheus\n"
    ),
    ".env": "MODE=full\n",
    "Makefile": (
        "COMPOSE_FILES := -f compose.yaml -f compose.full.yaml\nCOMPOSE_FILES += -f compose.observability.yaml\n\n"
        "up:\n\tdocker compose $(COMPOSE_FILES) up -d\n"
    ),
    ".github/workflows/e2e.yml": (
        "jobs:\n  e2e:\n    runs-on: ubuntu-latest\n    steps:\n      - run: >-\n          docker compose"
        " -f compose.yaml -f compose.full.yaml -f compose.observability.yaml up -d\n"
    ),
}


def _compose_service_count(root: Path, files: list[str]) -> int | None:
    """What the real Compose v2 binary (not the exit-0 Python wrapper) says for the same -f list."""
    try:
        import compose
    except ImportError:
        return None
    exe = Path(compose.__file__).parent / "docker-compose"
    args = [str(exe), "--project-directory", str(root), *(a for f in files for a in ("-f", str(root / f)))]
    done = subprocess.run(
        [*args, "config", "--format", "json"], env={"PATH": "/usr/bin:/bin", "HOME": str(root)},
        capture_output=True, text=True, timeout=60, cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return len(json.loads(done.stdout)["services"])


def test_file_sets_that_a_makefile_and_ci_run_are_projects_with_their_origin(org: Org, tmp_path: Path) -> None:
    org.repo("demo", [Commit(days_ago(1), LAYERS)])
    assert run_audit(org.config()).status == "ok"
    rows = org.query(
        "SELECT files, origin_path, origin_line, service_count, error FROM latest_compose_projects ORDER BY files"
    )
    layered = ["compose.yaml", "compose.full.yaml", "compose.observability.yaml"]
    # The default project (compose.yaml alone) and the three-file set both scripts run; the two layer files
    # are parts of the set, not projects. The origin is the first file (by path) that runs the set.
    assert rows == [
        (["compose.yaml"], None, None, 2, None),
        (layered, ".github/workflows/e2e.yml", 6, 5, None),  # the line the command is on
    ]
    for path, data in LAYERS.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(data, encoding="utf-8")
    expected = _compose_service_count(tmp_path, layered)
    assert expected in (None, 5), "Compose's service count for the same -f list"
    mode = org.scalar(
        "SELECT list_filter(environment, lambda e: e.key = 'MODE')[1].value FROM latest_compose_services "
        "WHERE service = 'app' AND len(project_files) = 3"
    )
    assert mode == "full"  # a bare key takes its value from the project's .env


def test_a_refused_project_keeps_its_services_flagged(org: Org) -> None:
    org.repo("frag", [Commit(days_ago(1), {"compose.yaml": "services:\n  web:\n    privileged: true\n"})])
    run_audit(org.config())
    project = org.query("SELECT error, service_count FROM latest_compose_projects")
    assert project == [('service "web" has neither an image nor a build context specified: invalid compose project', 1)]
    service = org.query("SELECT service, privileged, project_error IS NOT NULL FROM latest_compose_services")
    assert service == [("web", True, True)]
