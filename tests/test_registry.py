"""Registries for real: Debian's distribution registry, skopeo as the oracle, auth, faults, incrementality."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from support.oci.catalogue import SOURCE, WHITEOUT_WASTED_BYTES
from support.oci.registry import Registry

from hullcheck.audit import AuditSummary, run_audit
from hullcheck.config import load_config
from hullcheck.redact import redact_text
from hullcheck.sources.registry import RegistryClient, RegistryError


def _audit(tmp: Path, registry: dict[str, Any], **extra: Any) -> tuple[AuditSummary, duckdb.DuckDBPyConnection]:
    cfg_path = tmp / "hullcheck.yaml"
    cfg_path.write_text(yaml.safe_dump({"database": "h.duckdb", "cache_dir": "cache", "registries": [registry],
                                        **extra}))  # fmt: skip
    summary = run_audit(load_config(cfg_path))
    return summary, duckdb.connect(str(tmp / "h.duckdb"), read_only=True)


def _skopeo(*args: str) -> bytes:
    return subprocess.run(["skopeo", *args], check=True, capture_output=True, timeout=120).stdout


@pytest.fixture(scope="module")
def crawled(pushed_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    summary, con = _audit(tmp_path_factory.mktemp("crawl"), {"url": pushed_registry.host, "layer_scan": True})
    assert summary.status == "ok", summary.images.failures
    return con


def test_stored_facts_equal_what_skopeo_reports(pushed_registry: Registry, crawled: duckdb.DuckDBPyConnection) -> None:
    host = pushed_registry.host
    for ref, digest in pushed_registry.pushed.items():
        repo, _, tag = ref.rpartition(":")
        raw = _skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{host}/{repo}:{tag}")
        assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest
        assert crawled.execute(
            "SELECT digest FROM images WHERE repository = ? AND tag = ?", [repo, tag]
        ).fetchall() == [(digest,)]
        doc = json.loads(raw)
        children = [m["digest"] for m in doc["manifests"]] if "manifests" in doc else [digest]
        rows = crawled.execute(
            "SELECT manifest_digest, os, architecture, variant, config_digest, layer_count, compressed_bytes, "
            "\"user\", env_keys, exposed_ports FROM image_manifests WHERE repository = ? AND tag = ? "
            "ORDER BY manifest_digest", [repo, tag],
        ).fetchall()  # fmt: skip
        assert sorted(r[0] for r in rows) == sorted(children)
        for row in rows:
            manifest = json.loads(_skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{host}/{repo}@{row[0]}"))
            config_raw = _skopeo(
                "inspect", "--tls-verify=false", "--config", "--raw", f"docker://{host}/{repo}@{row[0]}"
            )
            config = json.loads(config_raw)
            assert row[4] == "sha256:" + hashlib.sha256(config_raw).hexdigest() == manifest["config"]["digest"]
            assert (row[1], row[2], row[3]) == (config["os"], config["architecture"], config.get("variant"))
            assert row[5] == len(manifest["layers"]) and row[6] == sum(x["size"] for x in manifest["layers"])
            c = config.get("config") or {}
            assert row[7] == (c.get("User") or None)
            assert row[8] == [e.split("=", 1)[0] for e in c.get("Env") or []]
            assert row[9] == sorted(c.get("ExposedPorts") or {})
            layers = crawled.execute(
                "SELECT layer_digest, size FROM image_layers WHERE manifest_digest = ? AND repository = ? AND tag = ? "
                "ORDER BY layer_index", [row[0], repo, tag],
            ).fetchall()  # fmt: skip
            assert layers == [(x["digest"], x["size"]) for x in manifest["layers"]]
            history = crawled.execute(
                "SELECT created_by, empty_layer FROM image_history WHERE manifest_digest = ? AND repository = ? "
                "AND tag = ? ORDER BY history_index", [row[0], repo, tag],
            ).fetchall()  # fmt: skip
            # deliberate difference: a secret in a build step is stored redacted
            want = [(redact_text(h["created_by"]) if h.get("created_by") else None, bool(h.get("empty_layer")))
                    for h in config.get("history") or []]  # fmt: skip
            assert history == want


def test_secrets_in_image_config_are_never_stored(crawled: duckdb.DuckDBPyConnection) -> None:
    env = crawled.execute(
        'SELECT e."value", e.redacted FROM image_manifests, unnest(env) AS u(e) WHERE e."key" = \'DB_PASSWORD\''
    ).fetchall()
    assert env and all(row == ("<redacted>", True) for row in env)
    assert "hunter2" not in str(crawled.execute("SELECT * FROM image_config_facts").fetchall())


def test_layer_scan_facts(crawled: duckdb.DuckDBPyConnection) -> None:
    def summary(repo: str) -> dict[str, Any]:
        cur = crawled.execute(
            "SELECT * FROM image_files_summary WHERE repository = ? AND architecture = 'amd64' LIMIT 1", [repo]
        )
        return dict(zip([d[0] for d in cur.description], cur.fetchone() or (), strict=False))

    assert summary("test/whiteouts")["wasted_bytes"] == WHITEOUT_WASTED_BYTES
    tools = summary("test/toolchain")
    assert {"gcc", "cc", "make", "go"} <= set(tools["toolchains"]) and tools["has_shell"]
    assert "apt" in tools["package_managers"] and "dpkg" in tools["package_managers"]
    data = summary("test/datasets")
    assert {"data/train.csv", "data/features.parquet", "models/model.onnx", "weights.safetensors"} == set(
        data["data_files"]
    )
    assert summary("test/upx")["upx_files"] == ["usr/local/bin/packed"]
    distroless = summary("test/distroless")
    assert not distroless["has_shell"] and distroless["package_managers"] == []
    assert summary("test/zstd")["file_count"] > 0  # a zstd layer, streamed
    shared = crawled.execute("SELECT count(*) FROM layer_scans").fetchone()
    distinct = crawled.execute("SELECT count(DISTINCT layer_digest) FROM image_layers").fetchone()
    assert shared == distinct  # each layer scanned once, however many images share it


def test_lineage_links_an_image_to_its_repository(crawled: duckdb.DuckDBPyConnection) -> None:
    rows = crawled.execute("SELECT source, revision FROM image_lineage WHERE repository = 'test/single'").fetchall()
    assert rows and all(r[0] == SOURCE for r in rows)


def test_incremental_recrawl_makes_only_catalog_tags_and_head_requests(
    pushed_registry: Registry, registry_proxy: Any, tmp_path: Path
) -> None:
    proxy = registry_proxy(pushed_registry)
    first, con = _audit(tmp_path, {"url": proxy.host})
    con.close()  # one process may hold the file read-write or read-only, not both
    assert first.status == "ok" and proxy.manifest_gets > 0 and proxy.blob_gets > 0
    proxy.reset()
    second, con = _audit(tmp_path, {"url": proxy.host})
    assert second.status == "ok" and second.images.tags_new == 0
    assert proxy.manifest_gets == 0 and proxy.blob_gets == 0
    assert proxy.manifest_heads == len(pushed_registry.pushed)
    kinds = {e.kind for e in proxy.log}
    assert kinds <= {"catalog", "tags", "manifest", "base"}, kinds
    assert con.execute("SELECT count(*) FROM latest_images WHERE status = 'known'").fetchone() == (
        len(pushed_registry.pushed),
    )


def test_transient_errors_are_retried(pushed_registry: Registry, registry_proxy: Any, tmp_path: Path) -> None:
    proxy = registry_proxy(pushed_registry)
    proxy.fail_next(2, status=503, retry_after="0")
    summary, _ = _audit(tmp_path, {"url": proxy.host, "repositories": ["test/single"]})
    assert summary.status == "ok" and summary.images.tags_new == 1 and summary.images.requests["GET tags"] == 3
    assert sum(1 for e in proxy.log if e.injected) == 2  # two 503s answered, then retried through


def test_a_manifest_that_does_not_match_its_digest_is_refused(
    pushed_registry: Registry, registry_proxy: Any, tmp_path: Path
) -> None:
    proxy = registry_proxy(pushed_registry)
    proxy.tamper_manifests(True)
    summary, con = _audit(tmp_path, {"url": proxy.host, "repositories": ["test/single"]})
    assert summary.status == "partial"
    errors = [r[0] for r in con.execute("SELECT error FROM images WHERE status = 'failed'").fetchall()]
    assert errors and all("does not match its digest" in e for e in errors)
    assert con.execute("SELECT count(*) FROM image_manifest_facts").fetchone() == (0,)


def test_a_dead_registry_is_an_error_row_after_bounded_retries(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    client = RegistryClient(f"127.0.0.1:{port}", retries=2, backoff=0.01)
    with pytest.raises(RegistryError, match="cannot reach the registry"):
        client.catalog()
    assert client.requests["GET catalog"] == 3  # one try and two retries, then it gives up
    summary, con = _audit(tmp_path, {"url": f"127.0.0.1:{port}", "retries": 1})
    assert summary.status == "partial"
    assert con.execute("SELECT registry, repository, status FROM images").fetchall() == [
        (f"127.0.0.1:{port}", None, "failed")
    ]


def test_basic_auth_from_config_and_from_the_docker_config(
    basic_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    basic_registry.push("private/app", "1", _one_image())
    monkeypatch.setenv("REG_USER", basic_registry.username or "")
    monkeypatch.setenv("REG_PASS", basic_registry.password or "")
    creds = {"username_env": "REG_USER", "password_env": "REG_PASS"}
    ok, _ = _audit(_mk(tmp_path / "a"), {"url": basic_registry.host, "credentials": creds})
    assert ok.status == "ok" and ok.images.tags_new == 1
    docker_config = tmp_path / "docker"
    docker_config.mkdir()
    auth = f"{basic_registry.username}:{basic_registry.password}".encode()
    import base64

    docker_config.joinpath("config.json").write_text(
        json.dumps({"auths": {basic_registry.host: {"auth": base64.b64encode(auth).decode()}}})
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_config))
    keychain, _ = _audit(_mk(tmp_path / "b"), {"url": basic_registry.host})
    assert keychain.status == "ok" and keychain.images.tags_new == 1


def test_wrong_credentials_give_a_clear_error(
    basic_registry: Registry, token_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REG_USER", "someone")
    monkeypatch.setenv("REG_PASS", "not-the-password")
    creds = {"username_env": "REG_USER", "password_env": "REG_PASS"}
    for reg, where in ((basic_registry, tmp_path / "basic"), (token_registry, tmp_path / "token")):
        summary, con = _audit(_mk(where), {"url": reg.host, "credentials": creds})
        assert summary.status == "partial"
        error = con.execute("SELECT error FROM images WHERE status = 'failed'").fetchone()[0]
        assert reg.host in error and ("wrong" in error or "denied" in error or "refused" in error), error
        assert "Traceback" not in error and "not-the-password" not in error


def test_bearer_tokens_are_reused(token_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(3):
        token_registry.push("team/app", f"v{i}", _one_image(str(i)))
    monkeypatch.setenv("REG_USER", token_registry.username or "")
    monkeypatch.setenv("REG_PASS", token_registry.password or "")
    before = token_registry.token_requests
    creds = {"username_env": "REG_USER", "password_env": "REG_PASS"}
    summary, _ = _audit(tmp_path, {"url": token_registry.host, "repositories": ["team/app"], "credentials": creds})
    assert summary.status == "ok" and summary.images.tags_new == 3
    assert token_registry.token_requests - before == 1  # one token for the repository's pull scope, reused


def test_image_layouts_on_disk(tmp_path: Path) -> None:
    from support.oci.catalogue import test_images
    from support.oci.layouts import write_docker_save, write_oci_archive, write_oci_layout

    images = test_images()
    write_oci_layout(tmp_path / "layout", {"1.0": images["single"], "multi": images["multiarch"]})
    write_oci_archive(tmp_path / "archive.tar", {"acme/single:2.0": images["single"]})
    write_docker_save(tmp_path / "saved.tar", {"acme/saved:3.0": images["single"]})
    cfg = tmp_path / "hullcheck.yaml"
    cfg.write_text(yaml.safe_dump({"database": "h.duckdb", "layouts": [{"path": "layout"}, {"path": "*.tar"}]}))
    summary = run_audit(load_config(cfg))
    assert summary.status == "ok", summary.images.failures
    con = duckdb.connect(str(tmp_path / "h.duckdb"), read_only=True)
    rows = con.execute("SELECT repository, tag, kind FROM images ORDER BY ALL").fetchall()
    assert rows == [("acme/saved", "3.0", "manifest"), ("acme/single", "2.0", "manifest"),
                    ("layout", "1.0", "manifest"), ("layout", "multi", "index")]  # fmt: skip
    raw = _skopeo("inspect", "--raw", f"oci:{tmp_path / 'layout'}:1.0")
    assert con.execute("SELECT digest FROM images WHERE tag = '1.0'").fetchone() == (
        "sha256:" + hashlib.sha256(raw).hexdigest(),
    )


def test_crane_verbs_print_what_skopeo_sees(pushed_registry: Registry, hullcheck_cli: Any) -> None:
    host = pushed_registry.host
    catalog = hullcheck_cli("registry", "catalog", host)
    assert catalog.returncode == 0 and set(catalog.stdout.split()) == {
        r.rpartition(":")[0] for r in pushed_registry.pushed
    }
    tags = hullcheck_cli("registry", "ls", f"{host}/test/single")
    assert sorted(tags.stdout.split()) == ["1.0", "latest"]
    digest = hullcheck_cli("registry", "digest", f"{host}/test/multiarch:latest").stdout.strip()
    assert digest == pushed_registry.pushed["test/multiarch:latest"]
    exe = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "hullcheck"
    manifest = subprocess.run([exe, "registry", "manifest", f"{host}/test/single:1.0"], capture_output=True).stdout
    assert manifest == _skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{host}/test/single:1.0")
    config = subprocess.run([exe, "registry", "config", f"{host}/test/single:1.0"], capture_output=True).stdout
    assert config == _skopeo("inspect", "--tls-verify=false", "--config", "--raw", f"docker://{host}/test/single:1.0")
    missing = hullcheck_cli("registry", "digest", f"{host}/test/nope:1")
    assert missing.returncode == 2 and "not found" in missing.stderr and "Traceback" not in missing.stderr


def _mk(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _one_image(seed: str = "") -> Any:
    from support.oci.builder import Image, Layer

    return Image([Layer({"etc/app": f"app {seed}".encode()})], {"User": "app"})


def test_lineage_finds_the_repository_commit_and_dockerfile(registry: Registry, tmp_path: Path) -> None:
    from support.oci.builder import Image, Layer
    from support.org import days_ago

    from hullcheck.demo.gitbuild import Commit, write_repo

    repo = write_repo(tmp_path / "repos" / "shop", [Commit(days_ago(1), {"Dockerfile": "FROM alpine:3.20\n"})])
    sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    labels = {"org.opencontainers.image.source": f"file://{repo}.git", "org.opencontainers.image.revision": sha}
    registry.push("shop/app", "1.0", Image([Layer({"app": b"x"})], {"Labels": labels}))
    cfg = tmp_path / "hullcheck.yaml"
    cfg.write_text(yaml.safe_dump({"database": "h.duckdb", "cache_dir": "cache",
                                   "sources": {"git": [{"url": f"file://{repo}"}]},
                                   "registries": [{"url": registry.host, "repositories": ["shop/app"]}]}))  # fmt: skip
    assert run_audit(load_config(cfg)).status == "ok"
    con = duckdb.connect(str(tmp_path / "h.duckdb"), read_only=True)
    assert con.execute("SELECT git_repo, git_commit, dockerfile_path FROM latest_image_lineage").fetchall() == [
        ("shop", sha, "Dockerfile")
    ]


def test_an_unreachable_night_keeps_the_last_good_images(
    pushed_registry: Registry, registry_proxy: Any, tmp_path: Path
) -> None:
    proxy = registry_proxy(pushed_registry)
    first, con = _audit(tmp_path, {"url": proxy.host, "repositories": ["test/single"], "retries": 0})
    con.close()
    proxy.fail_next(100, status=503)  # the registry is down for the whole next night
    second, con = _audit(tmp_path, {"url": proxy.host, "repositories": ["test/single"], "retries": 0})
    assert (first.status, second.status) == ("ok", "partial")
    assert con.execute("SELECT DISTINCT run_id FROM latest_images").fetchall() == [(first.run_id,)]
    failed = con.execute("SELECT repository, status FROM images WHERE run_id = ?", [second.run_id]).fetchall()
    assert failed == [("test/single", "failed")]


def test_turning_layer_scan_on_scans_images_already_known(pushed_registry: Registry, tmp_path: Path) -> None:
    repos = ["test/single", "test/multiarch"]
    first, con = _audit(tmp_path, {"url": pushed_registry.host, "repositories": repos})
    assert first.status == "ok"
    assert con.execute("SELECT count(*) FROM image_files_summary").fetchone() == (0,)
    con.close()
    second, con = _audit(tmp_path, {"url": pushed_registry.host, "repositories": repos, "layer_scan": True})
    assert second.status == "ok" and second.images.tags_new == 0  # nothing new: the digests are known
    platforms = con.execute("SELECT count(*) FROM latest_image_manifests").fetchone()
    assert con.execute("SELECT count(*) FROM latest_image_files_summary").fetchone() == platforms


def test_an_unexpected_answer_is_a_failed_row_not_a_failed_audit(tmp_path: Path) -> None:
    import http.server
    import threading

    class Odd(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"{}" if self.path == "/v2/" else b"<html>maintenance</html>"
            self.send_response(200)
            self.send_header("Content-Type", "application/json" if self.path == "/v2/" else "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Odd)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host = f"127.0.0.1:{server.server_address[1]}"
        summary, con = _audit(tmp_path, {"url": host})
    finally:
        server.shutdown()
    assert summary.status == "partial"
    (error,) = con.execute("SELECT error FROM images WHERE status = 'failed'").fetchone()
    assert host in error and "unexpected answer" in error
