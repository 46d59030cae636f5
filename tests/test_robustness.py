"""Inputs found in review to break an audit or leak a secret: each stays a fact, never a crash or a leak."""

from __future__ import annotations

import pytest
from support.org import Org, days_ago, git

from hullcheck.audit import run_audit
from hullcheck.config import ConfigError
from hullcheck.demo.gitbuild import Commit
from hullcheck.extract.compose.load import load_compose_project
from hullcheck.extract.dockerfile.parse import extract_dockerfile
from hullcheck.redact import MARKER, redact_text, redact_value

MALFORMED_COMPOSE = [
    "services:\n  a:\n    image: x\n    ports: [{target: '${PORT}'}]\n",
    "services:\n  a:\n    image: x\n    depends_on: {db: service_healthy}\n  db:\n    image: y\n",
    "services:\n  a:\n    image: x\n    deploy: {resources: {limits: {cpus: 2.5x}}}\n",
    "services:\n  a:\n    image: x\nsecrets: [one, two]\n",
    "services:\n  a:\n    image: x\n    ports: 8080\n",
    "services:\n  a:\n    image: x\n    environment: 5\n",
    "services: [a, b]\n",
    "services:\n  a: 3\n",
]


@pytest.mark.parametrize("text", MALFORMED_COMPOSE)
def test_malformed_compose_is_a_project_error_not_an_exception(text: str) -> None:
    facts = load_compose_project({"compose.yaml": text.encode()}.get, "")
    assert facts.project.error or facts.services  # loaded, or refused with a message: never raised


def test_compose_reads_yaml_1_2_scalars() -> None:
    text = b"services:\n  a:\n    image: x\n    ports:\n      - 2222:22\n    environment:\n      FLAG: yes\n"
    svc = load_compose_project({"compose.yaml": text}.get, "").services[0]
    assert (svc.ports[0].published, svc.ports[0].target) == ("2222", 22)  # not base-60 133342
    assert [(e.key, e.value) for e in svc.environment] == [("FLAG", "yes")]


def test_a_lone_continuation_line_does_not_crash_the_dockerfile_extractor() -> None:
    facts = extract_dockerfile(b"FROM alpine\n\\\nRUN echo hi\n")
    assert facts.file.parse_error is None and [i.keyword for i in facts.instructions] == ["FROM", "RUN"]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("curl -u admin:S3cretPw https://x", "S3cretPw"),
        ("docker login -u me -p hunter2 registry.example", "hunter2"),
        ("npm config set //registry.npmjs.org/:_authToken abc123def", "abc123def"),
        ("aws configure set aws_secret_access_key wJalrXUtnFEMIK7MDENG", "wJalrXUtnFEMIK7MDENG"),
        ("git clone https://0123456789abcdef0123456789abcdef@git.example/x.git", "0123456789abcdef0123"),
        ("pip install git+https://user:hunter2@git.example/pkg.git", "hunter2"),
    ],
)
def test_command_line_secret_forms(text: str, secret: str) -> None:
    assert secret not in redact_text(text) and MARKER in redact_text(text)


def test_a_secret_inside_an_ordinary_value_is_redacted() -> None:
    value, redacted = redact_value("JAVA_OPTS", "-Xmx1g -Dspring.datasource.password=hunter2")
    assert redacted and value == f"-Xmx1g -Dspring.datasource.password={MARKER}"


def test_redaction_is_linear_on_long_lines() -> None:
    import time

    started = time.process_time()
    redact_text("RUN echo " + "AB12" * 250_000)  # a 1 MB line, the size cap
    assert time.process_time() - started < 10  # was hours (quadratic); a bound, not a benchmark


def test_odd_file_names_and_credentials_in_urls(org: Org, smart_http: str) -> None:
    files = {"Dockerfile-prod": "FROM alpine\n", "Dockerfile_dev": "FROM alpine\n"}
    path = org.repo("names", [Commit(days_ago(1), files)], add=False)
    git(path, "update-server-info")
    org.sources = [{"url": f"{smart_http.replace('http://', 'http://deploy:s3cr3t-pw@')}/names/.git", "name": "names"}]
    cfg = org.config()
    summary = run_audit(cfg)
    assert summary.status == "ok", summary.git.failures
    paths = {r[0] for r in org.query("SELECT path FROM latest_dockerfiles")}
    assert paths == {"Dockerfile-prod", "Dockerfile_dev"}
    mirror_config = next((cfg.cache_path / "git").glob("names-*.git")).joinpath("config").read_text()
    assert "s3cr3t-pw" not in mirror_config and "deploy@" not in mirror_config
    assert "s3cr3t-pw" not in str(org.query("SELECT * FROM git_snapshots"))


def test_non_utf8_file_name_does_not_fail_the_repository(org: Org) -> None:
    import subprocess

    path = org.repo("latin", [Commit(days_ago(2), {"Dockerfile": "FROM alpine\n"})])
    (path / "caf\udce9.txt".encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")).write_bytes(b"x")
    subprocess.run(["git", "-C", str(path), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "odd name"],
                   check=True)  # fmt: skip
    summary = run_audit(org.config())
    assert summary.status == "ok", summary.git.failures


def test_one_url_twice_with_different_refs_needs_names(org: Org) -> None:
    path = org.repo("api", [Commit(days_ago(1), {"Dockerfile": "FROM alpine\n"})], add=False)
    org.sources = [{"url": str(path), "ref": "main"}, {"url": str(path), "ref": "release"}]
    with pytest.raises(ConfigError, match="both named 'api'"):
        run_audit(org.config())
