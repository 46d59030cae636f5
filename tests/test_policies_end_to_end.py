"""Situational policies end to end: real git repositories, the real registry fixture, the real CLI.

Three teams in three situations (payments: microservice; data: datascience with digests
required; platform: tooling). The same 120 MB image is over budget for payments and within
budget for data; the same Dockerfile is judged per team; a CODEOWNERS monorepo gives its two
Dockerfiles to two teams; a base image built by the platform team's repository and pushed to the
registry sets a non-root USER, so a Dockerfile built on it has no root-user finding while the
same Dockerfile on an unknown public base has one that says the base is unknown.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.oci.builder import File, Image, Layer
from support.oci.registry import Registry
from support.org import Org, days_ago

from hullcheck.demo.gitbuild import Commit

HULLCHECK = [sys.executable, "-m", "hullcheck"]
APP = 'COPY . /app\nCMD ["python", "/app/main.py"]\n'


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HULLCHECK, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "250"})  # fmt: skip


@pytest.fixture(scope="module")
def audited(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Org:
    org = Org(tmp_path_factory.mktemp("e2e-policies"))
    host = registry.host
    base_src = org.repo("base-images", [Commit(days_ago(30), {
        "python/Dockerfile": "FROM python:3.12-slim\nRUN useradd --uid 10001 app\nUSER app\n"})])  # fmt: skip
    # The platform team's base image, as its CI would push it: non-root user, labelled with its source.
    base = Image([Layer({"etc/passwd": File(b"app:x:10001:10001::/app:/bin/sh\n")})],
                 {"User": "app", "Labels": {"org.opencontainers.image.source": str(base_src)}})  # fmt: skip
    registry.push("e2e/base-python", "1", base)
    # One 120 MB image (incompressible, stored uncompressed) pushed for two teams.
    big = Image([Layer({"opt/model.bin": File(os.urandom(120_000_000))}, compression="none")], {"User": "10001"})
    registry.push("payments/api", "1", big)
    registry.push("data/train", "1", big)

    same = "FROM python:3.12-slim\nRUN pip install --no-cache-dir flask\nUSER 10001\n" + APP
    org.repo("payments-api", [Commit(days_ago(3), {"Dockerfile": f"FROM {host}/e2e/base-python:1\n" + APP})])
    org.repo("payments-worker", [Commit(days_ago(3), {"Dockerfile": "FROM python:3.12-slim\n" + APP,
                                                      "svc/Dockerfile": same})])  # fmt: skip
    org.repo("ml-train", [Commit(days_ago(3), {"Dockerfile": same})])
    org.repo("platform-mono", [Commit(days_ago(2), {
        ".github/CODEOWNERS": "* @acme/platform\n/services/checkout/ @acme/payments\n/ml/ @acme/data\n",
        "services/checkout/Dockerfile": same,
        "ml/Dockerfile": same,
    })])  # fmt: skip
    org.extra = {
        "teams": [
            {"name": "payments", "profile": "microservice", "repos": ["payments-*"], "images": [f"{host}/payments/*"],
             "codeowners": "@acme/payments"},
            {"name": "data", "profile": "datascience", "repos": ["ml-*"], "images": [f"{host}/data/*"],
             "codeowners": ["@acme/data"], "policies": {"unpinned-base": {"require_digest": True}}},
            {"name": "platform", "profile": "tooling", "repos": ["base-*"], "codeowners": "@acme/platform"},
        ],
        "registries": [{"url": host, "repositories": ["e2e/base-python", "payments/api", "data/train"]}],
    }  # fmt: skip
    org.write_config()
    done = _cli("audit", "-q", "-c", "hullcheck.yaml", cwd=org.root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "policies:" in done.stdout
    return org


def _findings(org: Org, policy: str) -> dict[str, tuple[Any, ...]]:
    rows = org.query("SELECT subject, team, profile, severity, evidence, params FROM latest_findings "
                     "WHERE policy_id = ?", [policy])  # fmt: skip
    return {str(r[0]): (r[1], r[2], r[3], json.loads(str(r[4])), json.loads(str(r[5]))) for r in rows}


def test_the_same_image_is_over_budget_for_a_microservice_and_within_it_for_data_science(audited: Org) -> None:
    found = _findings(audited, "image-size-budget")
    over = [s for s in found if s.endswith("/payments/api:1")]
    assert over and not [s for s in found if s.endswith("/data/train:1")], found
    team, profile, severity, evidence, params = found[over[0]]
    assert (team, profile, severity) == ("payments", "microservice", "warning")
    assert evidence["max_bytes"] == 100_000_000 and evidence["compressed_bytes"] > 120_000_000
    applied = params["values"]["max_bytes"]
    assert applied["value"] == "100 MB" and applied["source"] == "profile"
    assert "microservice" in applied["set_by"]
    # The data team's value is recorded too, with its source: "why this value?" is a query.
    data = audited.query("SELECT value, source FROM policy_params WHERE team = 'data' AND policy_id = "
                         "'image-size-budget' AND key = 'max_bytes'")  # fmt: skip
    assert data == [("8 GB", "profile")]


def test_explain_says_which_profile_and_value_applied_and_where_they_came_from(audited: Org) -> None:
    fp = audited.scalar("SELECT fingerprint FROM latest_findings WHERE policy_id = 'image-size-budget'")
    done = _cli("explain", str(fp)[:10], "-c", "hullcheck.yaml", cwd=audited.root)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "owner:    team payments — decided by images glob" in out
    assert "profile:  microservice — from team payments" in out
    assert "max_bytes = 100 MB  (profile: profile microservice" in out
    assert "What to do instead:" in out


def test_the_same_dockerfile_is_judged_per_team(audited: Org) -> None:
    found = _findings(audited, "unpinned-base")
    # `FROM python:3.12-slim` pins a tag without a digest: only the data team requires digests.
    assert "ml-train/Dockerfile" in found and found["ml-train/Dockerfile"][0] == "data"
    assert found["ml-train/Dockerfile"][3]["pin"] == "tag without digest"
    assert "payments-worker/svc/Dockerfile" not in found
    assert found["ml-train/Dockerfile"][4]["values"]["require_digest"]["source"] == "team"


def test_codeowners_gives_the_monorepo_dockerfiles_to_two_teams(audited: Org) -> None:
    rows = dict(audited.query("SELECT subject, team || ' by ' || decided_by FROM latest_ownership "
                              "WHERE subject LIKE 'platform-mono/%'"))  # fmt: skip
    assert rows["platform-mono/services/checkout/Dockerfile"].startswith("payments by codeowners: .github/CODEOWNERS:2")
    assert rows["platform-mono/ml/Dockerfile"].startswith("data by codeowners: .github/CODEOWNERS:3")
    # The data team's digest rule follows the file to its owner, not the repository.
    assert "platform-mono/ml/Dockerfile" in _findings(audited, "unpinned-base")
    assert "platform-mono/services/checkout/Dockerfile" not in _findings(audited, "unpinned-base")


def test_a_base_image_the_org_builds_brings_its_non_root_user(audited: Org) -> None:
    found = _findings(audited, "root-user")
    assert "payments-api/Dockerfile" not in found, found.get("payments-api/Dockerfile")
    assert "payments-worker/Dockerfile" in found
    evidence = found["payments-worker/Dockerfile"][3]
    assert evidence["base_source"] == "unknown" and evidence["why"] == "base unknown"
    base = audited.query("SELECT base_source, base_user, base_known_as FROM stage_bases "
                         "WHERE repo = 'payments-api' AND is_final")  # fmt: skip
    assert base and base[0][0] == "audited image" and base[0][1] == "app"
    # The base image itself belongs to the platform team through its source label (lineage).
    owner = audited.query("SELECT team, decided_by FROM latest_ownership WHERE subject LIKE '%/e2e/base-python:1'")
    assert owner and owner[0][0] == "platform" and owner[0][1].startswith("lineage: built from repository base-images")


def test_teams_and_ownership_views_answer_per_team_questions(audited: Org) -> None:
    teams = {r[0]: r[1:] for r in audited.query(
        "SELECT team, profile, repos_owned, dockerfiles_owned, images_owned FROM teams")}  # fmt: skip
    assert teams["payments"][0] == "microservice" and teams["payments"][1] == 2
    assert teams["data"][0] == "datascience" and teams["data"][3] == 1
    unowned = audited.query("SELECT subject FROM latest_ownership WHERE team = 'unowned'")
    assert unowned == [("platform-mono",)]  # the repository itself: no repos glob; its files have owners
    kinds = dict(audited.query("SELECT subject_kind, count(*) FROM latest_ownership GROUP BY 1"))
    assert kinds["image"] == 3 and kinds["dockerfile"] == 7
    assert yaml.safe_load((audited.root / "hullcheck.yaml").read_text())["teams"][0]["name"] == "payments"
