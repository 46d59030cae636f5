"""The embedded demo org: four teams' repositories with ten weeks of history, their images, and the config.

The story its weekly trend tells (weeks 1–10 are the last ten complete ISO weeks, oldest first):
- payments (microservice) cleans up: payments-api goes multi-stage and non-root in week 4 and moves to
  the platform's base image in week 10; payments-ledger goes multi-stage in week 3 and is reverted in
  week 8 (its findings reopen); payments-gateway fixes its root user and depends_on in week 5, then
  misses one again in week 9; payments-fraud appears in week 6 with a model baked in (fixed in week 9).
- storefront (monolith) cleans its apt cache in week 3, deletes its cron Dockerfile in week 5, moves
  its long environment to an env file in week 6, and adds an invoice worker in week 7 that misses
  its depends_on; billing puts adminer under a profile in week 4.
- data (datascience) fixes caches and the root user in weeks 4–5, then bakes a checkpoint into the
  training image in week 7 and leaves a pip cache again in week 9; its images are big, as they may be.
- platform (tooling) turns BuildKit back on in week 6 and bumps its python base in week 9.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hullcheck.demo import files as f
from hullcheck.demo.gitbuild import Commit, write_repo
from hullcheck.demo.images import write_demo_layout

WEEKS = 10
At = Callable[..., datetime]  # at(week, day=1, hour=10): a moment of week 1..10 (day 0 is its Monday)


def week_clock(now: datetime) -> At:
    """Commit times anchored to ISO weeks, not to days ago: whatever weekday the demo is created on, the
    as-of audit at the end of each of the last ten weeks sees that week's state, and every commit is past."""
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    first = monday - timedelta(weeks=WEEKS)

    def at(week: int, day: int = 1, hour: int = 10) -> datetime:
        if not (1 <= week <= WEEKS and 0 <= day <= 6 and 0 <= hour <= 23):
            raise ValueError(f"week {week}, day {day}, hour {hour} is not within the demo's ten weeks")
        return first + timedelta(weeks=week - 1, days=day, hours=hour)

    return at


def _payments(at: At) -> dict[str, list[Commit]]:
    return {
        "payments-api": [
            Commit(
                at(1),
                {
                    "Dockerfile": f.PAY_API_V1,
                    "requirements.txt": "flask\npsycopg[binary]\n",
                    "main.py": "print('payments')\n",
                    "compose.yaml": f.PAY_API_COMPOSE,
                },
                "first import",
            ),
            Commit(at(4, 2), {"Dockerfile": f.PAY_API_V2}, "multi-stage build, non-root user"),
            # Late in week 10: the Dockerfile also changes within the last ten days, whatever today is.
            Commit(at(10, 5), {"Dockerfile": f.PAY_API_V3}, "build on the platform's python base"),
        ],
        "payments-ledger": [
            Commit(
                at(1, 2),
                {
                    "Dockerfile": f.LEDGER_SINGLE,
                    "go.mod": "module demo.example/ledger\n\ngo 1.22\n",
                    "go.sum": "",
                    "cmd/ledger/main.go": "package main\n\nfunc main() {}\n",
                },
                "ledger",
            ),
            Commit(at(3, 3), {"Dockerfile": f.LEDGER_MULTI}, "multi-stage build on distroless, non-root"),
            Commit(at(8, 1), {"Dockerfile": f.LEDGER_SINGLE}, 'Revert "multi-stage build" (debugging in prod)'),
        ],
        "payments-gateway": [
            Commit(
                at(2, 0),
                {
                    "Dockerfile": f.GATEWAY_V1,
                    "package.json": '{"name": "gateway"}\n',
                    "compose.yaml": f.gateway_compose(False, False),
                },
                "gateway",
            ),
            Commit(
                at(5, 3),
                {"Dockerfile": f.GATEWAY_V2, "compose.yaml": f.gateway_compose(True, False)},
                "multi-stage build, run as node; wait for api and ledger",
            ),
            Commit(at(9, 2), {"compose.yaml": f.gateway_compose(True, True)}, "call the fraud service"),
        ],
        "payments-fraud": [  # a new repository: the audits before week 6 do not know it
            Commit(
                at(6, 1),
                {
                    "Dockerfile": f.FRAUD_V1,
                    "requirements.txt": "scikit-learn==1.5\n",
                    "models/model.onnx": "demo model\n",
                    "fraud/serve.py": "print('fraud')\n",
                },
                "fraud",
            ),
            Commit(
                at(9, 3),
                {"Dockerfile": f.FRAUD_V2, "models/model.onnx": None},
                "mount the model as a volume, filled by an init container",
            ),
        ],
    }


def _storefront(at: At) -> dict[str, list[Commit]]:
    return {
        "billing-monolith": [
            Commit(
                at(1),
                {"Dockerfile": f.MONOLITH, "pom.xml": "<project/>\n", "compose.yaml": f.billing_compose(False, False)},
                "billing",
            ),
            Commit(at(4, 4), {"compose.yaml": f.billing_compose(True, False)}, "adminer only with --profile debug"),
            Commit(at(7, 2), {"compose.yaml": f.billing_compose(True, True)}, "invoice worker"),
        ],
        "storefront-shop": [
            Commit(
                at(1, 3),
                {
                    "Dockerfile": f.SHOP_V1,
                    "composer.json": "{}\n",
                    "composer.lock": "{}\n",
                    "docker/cron/Dockerfile": f.SHOP_CRON,
                    "docker/cron/crontab": "0 3 * * * php reindex\n",
                    "compose.yaml": f.shop_compose(False),
                },
                "shop",
            ),
            Commit(at(3, 1), {"Dockerfile": f.SHOP_V2}, "remove the apt lists in the same RUN"),
            Commit(
                at(5, 2),
                {"docker/cron/Dockerfile": None, "docker/cron/crontab": None},
                "cron jobs run the shop image as a Kubernetes CronJob",
            ),
            Commit(at(6, 4), {"compose.yaml": f.shop_compose(True), "shop.env": f.SHOP_ENV_FILE}, "env file"),
        ],
        "web-frontend": [
            Commit(at(1, 1), {"Dockerfile": f.FRONTEND, "package.json": "{}\n", ".dockerignore": "node_modules\n"}),
            Commit(at(6, 2), {"README.md": "# web-frontend\n"}, "readme"),
        ],
    }


def _data(at: At) -> dict[str, list[Commit]]:
    return {
        "ml-notebooks": [
            Commit(
                at(1, 2),
                {
                    "docker/Dockerfile": f.NOTEBOOKS_V1,
                    "notebook.yml": f.NOTEBOOK_COMPOSE,
                    "docker/data/sample.csv": "a,b\n1,2\n",
                },
                "notebooks",
            ),
            Commit(at(5, 1), {"docker/Dockerfile": f.NOTEBOOKS_V2}, "pip --no-cache-dir"),
            Commit(at(9, 4), {"docker/Dockerfile": f.NOTEBOOKS_V3}, "lightgbm and shap"),
        ],
        "ml-training": [
            Commit(at(1, 4), {"Dockerfile": f.TRAINING_V1, "train/main.py": "print('train')\n"}, "training image"),
            Commit(at(4, 3), {"Dockerfile": f.TRAINING_V2}, "clean caches, train as uid 1000"),
            Commit(
                at(7, 1),
                {"Dockerfile": f.TRAINING_V3, "checkpoints/last.ckpt": "demo checkpoint\n"},
                "warm start from the last checkpoint",
            ),
        ],
        "data-pipelines": [
            Commit(
                at(1, 1),
                {
                    "Dockerfile": f.AIRFLOW,
                    "requirements.txt": "apache-airflow-providers-postgres\n",
                    "dags/etl.py": "# nightly etl\n",
                    "compose.yaml": f.airflow_compose(),
                    "build.sh": f.PIPELINE_BUILD_SH,
                    "Makefile": f.PIPELINE_MAKE_EXEC,
                },
                "airflow",
            ),
            Commit(
                at(3, 2),
                {
                    "worker/Dockerfile": f.PIPELINE_WORKER,
                    "worker/requirements.txt": "pandas\n",
                    "worker/__main__.py": "print('worker')\n",
                },
                "worker image",
            ),
            Commit(at(6, 3), {"Makefile": f.PIPELINE_MAKE_RUN}, "one-off jobs with compose run"),
            Commit(at(8, 2), {"build.sh": None, "docker-bake.hcl": f.PIPELINE_BAKE}, "describe builds in bake"),
        ],
    }


def _platform(at: At) -> dict[str, list[Commit]]:
    return {
        "infra-tools": [
            Commit(at(1), {"Containerfile": f.TOOLS, "build.sh": "DOCKER_BUILDKIT=0 docker build -t tools .\n"}),
            Commit(at(2, 1), {"Makefile": "image:\n\tdocker build -t tools .\n", "compose.yaml": f.RUNNER}),
            Commit(at(6, 1), {"build.sh": "docker build -t tools .\n"}, "BuildKit back on"),
        ],
        "base-images": [
            Commit(at(2, 2), {"python/Dockerfile": f.PY_BASE}, "a python base for every team"),
            Commit(at(9, 1), {"python/Dockerfile": f.PY_BASE_313}, "python 3.13"),
        ],
    }


def histories(now: datetime) -> dict[str, list[Commit]]:
    """Every demo repository's commits, dated in the last ten ISO weeks before `now`."""
    at = week_clock(now)
    return {**_payments(at), **_storefront(at), **_data(at), **_platform(at)}


_CONFIG = """\
# The demo org: every repository under repos/, four teams, each in its own situation (workload profile).
database: hullcheck.duckdb
cache_dir: .cache
sources:
  git:
    - path_glob: repos/*
layouts:
  - path: images   # images exported by CI as an OCI layout (registries: see hullcheck.yaml at the repo root)
email:             # no smtp: `hullcheck mail --dry-run` writes the mails as .eml files
  from: hullcheck@demo.example
  org_to: [platform@demo.example]
teams:
  - name: payments
    profile: microservice
    email: payments@demo.example
    repos: ["payments-*"]
    policies:
      # Stricter than the profile's 100 MB (which also keeps the demo's images small on disk).
      image-size-budget: {max_bytes: 20MB}
      # Payments builds on the platform team's base images, kept in the org registry.
      base-image-source: {allowed_registries: [registry.demo.example]}
  - name: storefront
    profile: monolith
    email: storefront@demo.example
    repos: ["storefront-*", "billing-*", "web-*"]
  - name: data
    profile: datascience
    email: data@demo.example
    repos: ["ml-*", "data-*"]
  - name: platform
    profile: tooling
    email: platform@demo.example
    repos: ["infra-*", "base-*"]
"""


def create_demo_org(directory: Path) -> Path:
    """Write the demo repositories, their images and `hullcheck.yaml` under `directory`; returns the config path.

    Existing repositories and images are kept, so running the demo twice shows an incremental audit.
    """
    directory = directory.resolve()
    now = datetime.now(UTC).replace(microsecond=0)
    repos = directory / "repos"
    names = histories(now)
    for name, commits in names.items():
        if not (repos / name).exists():
            write_repo(repos / name, commits)
    layout = directory / "images"
    if not layout.exists():  # the images' revision labels name the commits CI built them from: the heads
        heads = {name: (repos / name / ".git" / "refs" / "heads" / "main").read_text().strip() for name in names}
        write_demo_layout(layout, repos, heads, now)
    config = directory / "hullcheck.yaml"
    config.write_text(_CONFIG, encoding="utf-8")
    return config
