"""The git source on real repositories: what is found, followed, skipped, and how failures are reported."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.org import Org, days_ago, git

from hullcheck.audit import run_audit
from hullcheck.demo.gitbuild import Commit

DOCKERFILE = "FROM alpine:3.20\nRUN apk add --no-cache curl\nUSER 1000\n"


def test_finds_every_kind_of_file_that_matters(org: Org) -> None:
    org.repo(
        "svc",
        [
            Commit(
                days_ago(3),
                {
                    "Dockerfile": DOCKERFILE,
                    "docker/api.Dockerfile": DOCKERFILE,
                    "Dockerfile.dev": DOCKERFILE,
                    "build/worker.dockerfile": DOCKERFILE,
                    "Containerfile": DOCKERFILE,
                    "compose.yaml": "services:\n  a:\n    image: x\n",
                    "deploy/stack.yml": "version: '3'\nservices:\n  b:\n    image: y\n",
                    "k8s/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\n",
                    ".env": "A=1\n",
                    ".github/workflows/ci.yml": "on: push\n",
                    "scripts/build.sh": "docker build .\n",
                    "Makefile": "all:\n",
                    "go.mod": "module x\n",
                    "pom.xml": "<project/>\n",
                    "build.gradle.kts": "",
                    "BUILD.bazel": "",
                    ".dockerignore": "*.md\n",
                    "README.md": "# hi\n",
                },
            )
        ],
    )
    summary = run_audit(org.config())
    assert summary.status == "ok"
    kinds = dict(org.query("SELECT path, kind FROM latest_repo_files"))
    assert kinds == {
        "Dockerfile": "dockerfile",
        "docker/api.Dockerfile": "dockerfile",
        "Dockerfile.dev": "dockerfile",
        "build/worker.dockerfile": "dockerfile",
        "Containerfile": "dockerfile",
        "compose.yaml": "compose",
        "deploy/stack.yml": "compose",  # any YAML with top-level services
        ".env": "env",
        ".github/workflows/ci.yml": "ci",
        "scripts/build.sh": "script",
        "Makefile": "makefile",
        "go.mod": "go_mod",
        "pom.xml": "maven",
        "build.gradle.kts": "gradle",
        "BUILD.bazel": "bazel",
        ".dockerignore": "dockerignore",
    }
    assert org.scalar("SELECT count(*) FROM latest_dockerfile_stages") == 5
    assert org.scalar("SELECT count(DISTINCT blob_sha) FROM df_files") == 1  # one content, extracted once


def test_audits_remote_head_or_the_configured_branch(org: Org) -> None:
    path = org.repo("app", [Commit(days_ago(5), {"Dockerfile": "FROM debian:12\n"})], branch="main")
    org.repo("app", [Commit(days_ago(4), {"Dockerfile": "FROM debian:13\n"})], branch="release", add=False)
    git(path, "symbolic-ref", "HEAD", "refs/heads/release")  # the remote's default branch
    org.sources.append({"url": str(path), "ref": "main", "name": "app-main"})
    run_audit(org.config())
    rows = dict(org.query("SELECT repo, base_tag FROM latest_dockerfile_stages"))
    assert rows == {"app": "13", "app-main": "12"}
    refs = dict(org.query("SELECT repo, ref FROM latest_repo_snapshots"))
    assert refs == {"app": "refs/heads/release", "app-main": "refs/heads/main"}


def test_as_of_audits_the_last_commit_at_or_before_the_date(org: Org) -> None:
    org.repo(
        "svc",
        [
            Commit(days_ago(30), {"Dockerfile": "FROM node:18\n"}, "old"),
            Commit(days_ago(10), {"Dockerfile": "FROM node:20\n"}, "newer"),
            Commit(days_ago(1), {"Dockerfile": "FROM node:22\n"}, "newest"),
        ],
    )
    cfg = org.config()
    for age in (20, 5, 40):
        run_audit(cfg, as_of=days_ago(age))
    run_audit(cfg)
    got = org.query(
        "SELECT r.as_of IS NOT NULL, s.status, st.base_tag FROM runs r JOIN repo_snapshots s USING (run_id) "
        "LEFT JOIN dockerfile_stages st USING (run_id, repo) ORDER BY run_id"
    )
    assert got == [
        (True, "extracted", "18"),
        (True, "extracted", "20"),
        (True, "empty", None),
        (False, "extracted", "22"),
    ]
    # latest_* follows the newest effective time, not the order runs were made in
    assert org.scalar("SELECT base_tag FROM latest_dockerfile_stages") == "22"


def test_partial_clone_over_file_url_fetches_only_the_blobs_that_matter(org: Org) -> None:
    path = org.repo(
        "big",
        [Commit(days_ago(2), {"Dockerfile": DOCKERFILE, "data/blob.bin": b"\x01" * 200_000, "src/a.py": "x=1\n"})],
        add=False,
    )
    git(path, "config", "uploadpack.allowFilter", "true")
    git(path, "config", "uploadpack.allowAnySHA1InWant", "true")
    org.sources.append({"url": f"file://{path}"})
    cfg = org.config()
    summary = run_audit(cfg)
    assert summary.status == "ok", summary.git.failures
    mirror = next((cfg.cache_path / "git").glob("big-*.git"))
    assert "promisor = true" in (mirror / "config").read_text()
    missing = git(mirror, "rev-list", "--objects", "--missing=print", "--no-walk", "HEAD")
    missing_shas = {line[1:].split()[0] for line in missing.splitlines() if line.startswith("?")}
    tree = {line.split()[3]: line.split()[2] for line in git(mirror, "ls-tree", "-r", "HEAD").splitlines()}
    assert tree["data/blob.bin"] in missing_shas and tree["src/a.py"] in missing_shas
    assert tree["Dockerfile"] not in missing_shas
    assert summary.git.stats.blobs_prefetched == 1 and summary.git.stats.blobs_read == 1


def test_symlinks_are_recorded_followed_inside_and_never_outside(org: Org) -> None:
    org.repo(
        "links",
        [
            Commit(
                days_ago(2),
                {"docker/real.Dockerfile": DOCKERFILE},
                symlinks={
                    "Dockerfile": "docker/real.Dockerfile",
                    "escape.Dockerfile": "../../../../etc/passwd",
                    "abs.Dockerfile": "/etc/passwd",
                    "dangling.Dockerfile": "nope/Dockerfile",
                },
            )
        ],
    )
    run_audit(org.config())
    rows = {r[0]: r[1:] for r in org.query("SELECT path, symlink_target, skipped_reason, stage_count FROM dockerfiles")}
    assert rows["Dockerfile"] == ("docker/real.Dockerfile", None, 1)
    assert rows["escape.Dockerfile"][0] == "../../../../etc/passwd"
    assert "leaves the repository" in rows["escape.Dockerfile"][1] and rows["escape.Dockerfile"][2] is None
    assert "leaves the repository" in rows["abs.Dockerfile"][1]
    assert "not a file in the repository" in rows["dangling.Dockerfile"][1]


def test_binary_oversize_and_non_utf8_files(org: Org) -> None:
    big = ("FROM alpine\n" + "RUN echo " + "x" * 100 + "\n") * 50_000  # ~5.5 MB
    org.repo(
        "odd",
        [
            Commit(
                days_ago(2),
                {
                    "Dockerfile": b"\x7fELF\x02\x01\x01\x00\x00\x00binary",
                    "big.Dockerfile": big,
                    "latin1.Dockerfile": 'FROM alpine\nLABEL author="Jos\xe9"\n'.encode("latin-1"),
                },
            )
        ],
    )
    summary = run_audit(org.config())
    assert summary.status == "ok"
    rows = {r[0]: r[1:] for r in org.query("SELECT path, skipped_reason, size, stage_count, warnings FROM dockerfiles")}
    assert rows["Dockerfile"][0] == "binary content; not read"
    assert rows["big.Dockerfile"][0].startswith("larger than the size cap") and rows["big.Dockerfile"][1] > 5_000_000
    assert rows["big.Dockerfile"][2] is None  # never parsed
    assert rows["latin1.Dockerfile"][0] is None and rows["latin1.Dockerfile"][2] == 1
    assert any("UTF-8" in w for w in rows["latin1.Dockerfile"][3])


def test_size_cap_is_configurable(org: Org) -> None:
    org.repo("small", [Commit(days_ago(1), {"Dockerfile": DOCKERFILE})])
    org.extra["max_file_bytes"] = 10
    run_audit(org.config())
    assert "size cap" in str(org.scalar("SELECT skipped_reason FROM dockerfiles"))


class _AuthRequired(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def auth_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AuthRequired)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_broken_repositories_become_error_rows_and_the_run_is_partial(org: Org, auth_server: str) -> None:
    org.repo("good", [Commit(days_ago(1), {"Dockerfile": DOCKERFILE})])
    org.sources.append({"url": str(org.root / "does-not-exist"), "name": "missing"})
    org.sources.append({"url": f"http://deploy:s3cr3t-pw@{auth_server}/team/private.git", "name": "private"})
    corrupt = org.repo("corrupt", [Commit(days_ago(1), {"Dockerfile": DOCKERFILE, "a.txt": "a" * 1000})])
    for obj in (corrupt / ".git" / "objects").glob("??/*"):
        obj.chmod(0o644)
        obj.write_bytes(b"garbage")  # every loose object is unreadable
    empty = org.root / "repos" / "empty"
    git(org.root, "init", "-q", str(empty))
    org.sources.append({"url": str(empty)})

    summary = run_audit(org.config())
    assert summary.status == "partial" and summary.exit_code == 1
    rows = {r[0]: r[1:] for r in org.query("SELECT repo, status, error FROM latest_repo_snapshots")}
    assert rows["good"][0] == "extracted"
    assert rows["empty"] == ("empty", "the repository has no commits")
    assert rows["missing"][0] == "failed" and "repository not found" in rows["missing"][1]
    assert rows["private"][0] == "failed" and "authentication failed" in rows["private"][1]
    assert rows["corrupt"][0] == "failed" and "corrupt" in rows["corrupt"][1]
    assert org.query("SELECT status, repos_failed, message FROM runs") == [("partial", 3, "3 of 5 repositories failed")]
    everything = str(org.query("SELECT * FROM git_snapshots")) + str(org.query("SELECT * FROM audit_runs"))
    assert "s3cr3t-pw" not in everything and "<redacted>" in everything


def test_config_error_is_raised_before_a_run_is_recorded(org: Org, tmp_path: Path) -> None:
    from hullcheck.config import ConfigError

    org.repo("a", [Commit(days_ago(1), {"Dockerfile": DOCKERFILE})])
    with pytest.raises(ConfigError, match="--only nothing-matches"):
        run_audit(org.config(), only=["nothing-matches"])
    assert not (org.root / "audit.duckdb").exists()


def test_a_failed_fetch_does_not_hide_the_last_audited_facts(org: Org) -> None:
    path = org.repo("flaky", [Commit(days_ago(3), {"Dockerfile": DOCKERFILE})])
    cfg = org.config()
    run_audit(cfg)
    path.rename(path.with_name("flaky-moved"))  # the remote disappears for a night
    assert run_audit(cfg).status == "partial"
    assert org.query("SELECT status FROM latest_repo_snapshots") == [("failed",)]
    assert org.query("SELECT run_id, base_tag FROM latest_dockerfile_stages") == [(1, "3.20")]
