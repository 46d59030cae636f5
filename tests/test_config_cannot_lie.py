"""Configs that audit nothing never stay green: each silent-green case is a failed row (the run ends partial,
exit 1) or a config error naming file and line (exit 2); what is complete but not as configured is a warning.
`hullcheck config check` says all of it before an audit, and writes nothing."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.oci.registry import Registry
from support.org import Org, days_ago

from hullcheck.audit import run_audit
from hullcheck.config import ConfigError, load_config, parse_config
from hullcheck.demo.gitbuild import Commit, write_repo

Cli = Callable[..., subprocess.CompletedProcess[str]]
DOCKERFILE = {"Dockerfile": "FROM alpine:3.20\n"}


def _write(root: Path, data: dict[str, Any]) -> Path:
    cfg = root / "hullcheck.yaml"
    cfg.write_text(yaml.safe_dump({"database": "audit.duckdb", "cache_dir": "cache", **data}, sort_keys=False))
    return cfg


def _line_of(cfg: Path, needle: str) -> int:
    return next(i for i, text in enumerate(cfg.read_text().splitlines(), 1) if needle in text)


def _one_image(seed: str = "") -> Any:
    from support.oci.builder import Image, Layer

    return Image([Layer({"etc/app": f"app {seed}".encode()})], {"User": "app"})


# -- git sources: a glob that matches nothing, a malformed glob, a folder that is no repository ----------------
def test_a_path_glob_matching_nothing_is_a_failed_row(org: Org, hullcheck_cli: Cli) -> None:
    org.repo("api", [Commit(days_ago(1), DOCKERFILE)])
    missing = org.root / "srv" / "x" / "*"
    org.sources.append({"path_glob": str(missing)})
    cfg = org.write_config()
    line = _line_of(cfg, "- path_glob:")
    r = hullcheck_cli("audit", "-c", str(cfg), "-q")
    assert r.returncode == 1, r.stderr
    assert "partial" in r.stdout and f"path_glob {missing} matched no directory" in r.stdout
    assert org.query("SELECT repo, status, error FROM git_snapshots WHERE status = 'failed'") == [
        (f"path_glob:{missing}", "failed", f"path_glob {missing} matched no directory "
         f"({cfg}:{line}: sources.git[1].path_glob)")
    ]  # fmt: skip
    assert org.scalar("SELECT message FROM runs") == "1 of 2 repositories failed"
    only_files = org.root / "files"
    only_files.mkdir()
    (only_files / "README").write_text("not a repository\n")
    org.sources[-1] = {"path_glob": str(only_files / "*")}
    again = run_audit(org.config())
    assert again.status == "partial"
    assert again.git.failures == [f"path_glob:{only_files / '*'}: path_glob {only_files / '*'} matched no "
                                  f"directory (only 1 file) ({cfg}:{line}: sources.git[1].path_glob)"]  # fmt: skip


@pytest.mark.parametrize(
    ("glob", "message"),
    [
        ("/srv/[mirrors/*", "unclosed '[' at character 6 (a literal '[' is written '[[]')"),
        ("/srv/mirrors/**/repo.git", "'**' (any depth) is not supported here"),
        ("  ", "an empty glob matches nothing"),
    ],
)
def test_a_malformed_glob_is_a_config_error_at_its_line(glob: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(f"database: h.duckdb\nsources:\n  git:\n    - path_glob: '{glob}'\n", "org.yaml")
    assert f"org.yaml:4: sources.git[0].path_glob: {message}" in str(err.value)
    with pytest.raises(ConfigError) as err:
        parse_config(f"database: h.duckdb\nlayouts:\n  - path: '{glob}'\n", "org.yaml")
    assert f"org.yaml:3: layouts[0].path: {message}" in str(err.value)


def test_a_malformed_glob_exits_2_from_the_cli(tmp_path: Path, hullcheck_cli: Cli) -> None:
    cfg = tmp_path / "org.yaml"
    cfg.write_text("sources:\n  git:\n    - path_glob: /srv/[mirrors/*\nteams:\n  - {name: a, repos: ['pay-[x']}\n")
    r = hullcheck_cli("audit", "-c", str(cfg))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{cfg}:3: sources.git[0].path_glob: unclosed '['" in r.stderr
    assert f"{cfg}:5: teams[0].repos: 'pay-[x': unclosed '['" in r.stderr
    assert not (tmp_path / "hullcheck.duckdb").exists()


def test_a_matched_folder_that_is_not_a_repository_is_a_failed_row(org: Org, hullcheck_cli: Cli) -> None:
    write_repo(org.repos / "api", [Commit(days_ago(1), DOCKERFILE)])
    write_repo(org.repos / "mirror.git", [Commit(days_ago(1), DOCKERFILE)], bare=True)
    (org.repos / "notes").mkdir()
    (org.repos / "notes" / "todo.txt").write_text("a folder, not a repository\n")
    (org.repos / "stray-file").write_text("files are not folders: skipped\n")
    org.sources.append({"path_glob": str(org.repos / "*")})
    r = hullcheck_cli("audit", "-c", str(org.write_config()), "-q")
    assert r.returncode == 1 and "partial" in r.stdout
    assert f"failed: notes: {org.repos / 'notes'}: not a git repository" in r.stdout
    assert org.query("SELECT repo, status FROM git_snapshots ORDER BY repo") == [
        ("api", "extracted"), ("mirror", "extracted"), ("notes", "failed")
    ]  # fmt: skip


# -- layouts: a glob that matches nothing, a path that does not exist -------------------------------------------
def test_a_layout_glob_matching_nothing_says_so_in_words(tmp_path: Path) -> None:
    pattern, exact = tmp_path / "exports" / "*.tar", tmp_path / "exports" / "app.tar"
    cfg = _write(tmp_path, {"layouts": [{"path": str(pattern)}, {"path": str(exact)}]})
    summary = run_audit(load_config(cfg))
    assert summary.status == "partial" and summary.exit_code == 1
    assert summary.images.failures == [
        f"layout {pattern}: the glob matched no file or directory ({cfg}:4: layouts[0].path)",
        f"layout:{exact}: no such file or directory (an OCI layout directory, OCI archive or docker save tarball)",
    ]
    assert not any("Errno" in f for f in summary.images.failures)


# -- registries: a repository named exactly that the registry lacks; a glob that matches none of the catalog ----
def test_a_mistyped_registry_repository_is_a_failed_row(registry: Registry, tmp_path: Path) -> None:
    registry.push("shop/app", "1.0", _one_image("shop"))
    data = {"registries": [{"url": registry.host, "repositories": ["shop/app", "shop/frontnd"], "retries": 0}],
            "teams": [{"name": "web", "images": [f"{registry.host}/web/*"]}]}  # fmt: skip
    summary = run_audit(load_config(_write(tmp_path, data)))
    assert summary.status == "partial" and summary.exit_code == 1
    assert summary.images.failures == [f"shop/frontnd: the repository does not exist in {registry.host} "
                                       "(check its name in `repositories`)"]  # fmt: skip
    assert summary.images.tags_seen == 1
    # Images no team owns, and an images glob that matches none: warnings, not failures.
    assert summary.warnings == [
        f'team web: images glob "{registry.host}/web/*" matches no audited image',
        f"1 image repository is owned by no team (unowned): {registry.host}/shop/app",
    ]
    globbed = {"registries": [{"url": registry.host, "repositories": ["shop/*", "nope/*"], "retries": 0}]}
    second = run_audit(load_config(_write(tmp_path, globbed)))
    assert second.status == "partial"
    assert second.images.failures == [
        f"{registry.host}: repositories glob 'nope/*' matched no repository of the catalog (1 listed)"
    ]


# -- the config file itself: empty, unknown profile, duplicate team ----------------------------------------------
@pytest.mark.parametrize("text", ["", "# only comments\n# database: x.duckdb\n", "{}\n"])
def test_an_empty_config_is_an_error(tmp_path: Path, hullcheck_cli: Cli, text: str) -> None:
    cfg = tmp_path / "hullcheck.yaml"
    cfg.write_text(text)
    r = hullcheck_cli("audit", "-c", str(cfg))
    assert r.returncode == 2 and f"error: {cfg}:1: the config is empty: it names nothing to audit" in r.stderr
    assert not (tmp_path / "hullcheck.duckdb").exists()


def test_a_config_naming_no_source_is_an_error(tmp_path: Path, hullcheck_cli: Cli) -> None:
    cfg = tmp_path / "hullcheck.yaml"
    cfg.write_text("database: audit.duckdb\nteams:\n  - {name: a, repos: ['*']}\n")
    r = hullcheck_cli("audit", "-c", str(cfg))
    assert r.returncode == 2 and "nothing to audit: the config names no git source" in r.stderr
    assert not (tmp_path / "audit.duckdb").exists()


def test_an_unknown_profile_is_a_config_error_with_line_and_the_known_ones(org: Org, hullcheck_cli: Cli) -> None:
    org.repo("api", [Commit(days_ago(1), DOCKERFILE)])
    org.extra["teams"] = [{"name": "ml", "profile": "data-science", "repos": ["*"]}]
    cfg = org.write_config()
    line = _line_of(cfg, "data-science")
    r = hullcheck_cli("audit", "-c", str(cfg))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{cfg}:{line}: teams[0].profile: unknown profile 'data-science' (known: datascience, " in r.stderr
    assert not (org.root / "audit.duckdb").exists()


def test_a_duplicate_team_is_reported_at_the_duplicate(tmp_path: Path, hullcheck_cli: Cli) -> None:
    cfg = tmp_path / "org.yaml"
    cfg.write_text("sources:\n  git:\n    - url: x\nteams:\n  - name: web\n  - name: data\n  - name: web\n")
    r = hullcheck_cli("audit", "-c", str(cfg))
    assert r.returncode == 2
    assert f"{cfg}:7: teams[2].name: team 'web' is defined twice (first at line 5)" in r.stderr


# -- team globs matching nothing, repositories no team owns: warnings in the summary -----------------------------
def test_team_globs_matching_nothing_and_unowned_repositories_are_warnings(org: Org, hullcheck_cli: Cli) -> None:
    for name in ("api", "tools", "web"):
        org.repo(name, [Commit(days_ago(1), DOCKERFILE)])
    org.extra["teams"] = [{"name": "payments", "repos": ["pay-*"]}, {"name": "front", "repos": ["web", "ui-*"]}]
    r = hullcheck_cli("audit", "-c", str(org.write_config()), "-q")
    assert r.returncode == 0, r.stdout + r.stderr  # complete: warnings are not failures
    assert "run 1: ok" in r.stdout
    assert '  warning: team payments: repos glob "pay-*" matches no audited repository' in r.stdout
    assert '  warning: team front: repos glob "ui-*" matches no audited repository' in r.stdout
    assert "  warning: 2 repositories are owned by no team (unowned): api, tools" in r.stdout
    summary = run_audit(org.config())
    assert summary.status == "ok" and len(summary.warnings) == 3
    # A repository whose files CODEOWNERS gives to a team is owned, though its repo subject is not.
    org.repo("tools", [Commit(days_ago(0), {**DOCKERFILE, "CODEOWNERS": "* @acme/pay\n"})], add=False)
    org.extra["teams"][0]["codeowners"] = "@acme/pay"
    assert "tools" not in " ".join(run_audit(org.config()).warnings)


# -- name_from: mirror folders named after the folder that differs -----------------------------------------------
def _mirrors(root: Path) -> Path:
    for team in ("alpha", "beta"):
        write_repo(root / "mirrors" / team / "repo", [Commit(days_ago(1), {"Dockerfile": f"FROM {team}\n"})])
    return root / "mirrors"


@pytest.mark.parametrize("name_from", ["parent", "/mirrors/([^/]+)/repo$"])
def test_name_from_names_mirror_folders(tmp_path: Path, name_from: str) -> None:
    mirrors = _mirrors(tmp_path)
    cfg = _write(tmp_path, {"sources": {"git": [{"path_glob": str(mirrors / "*" / "repo"), "name_from": name_from}]},
                            "teams": [{"name": "all", "repos": ["*"]}]})  # fmt: skip
    loaded = load_config(cfg)
    assert [(s.name, s.url) for s in loaded.git_repos] == [
        ("alpha", str(mirrors / "alpha" / "repo")), ("beta", str(mirrors / "beta" / "repo"))
    ]  # fmt: skip
    summary = run_audit(loaded)
    assert summary.status == "ok" and summary.git.extracted == 2


def test_name_from_mistakes_are_config_errors_at_their_line(tmp_path: Path) -> None:
    mirrors = _mirrors(tmp_path)
    glob = str(mirrors / "*" / "repo")

    def error(**src: Any) -> str:
        text = yaml.safe_dump({"sources": {"git": [{"path_glob": glob, **src}]}}, sort_keys=False)
        with pytest.raises(ConfigError) as err:
            parse_config(text, "org.yaml")
        return str(err.value)

    assert "two sources are both named 'repo'" in error() and "`name_from:` (parent, or a regex)" in error()
    assert "org.yaml:4: sources.git[0].name_from: neither basename, parent nor a regular expression" in error(
        name_from="(unclosed"
    )
    assert "org.yaml:4: sources.git[0].name_from: a regular expression names a repository with exactly one " \
           "group (…); '/mirrors/.*/repo' has 0" in error(name_from="/mirrors/.*/repo")  # fmt: skip
    assert (f"org.yaml:4: sources.git[0].name_from: the regular expression '/elsewhere/([^/]+)' does not match "
            f"{mirrors / 'alpha' / 'repo'}") in error(name_from="/elsewhere/([^/]+)")  # fmt: skip
    with pytest.raises(ConfigError, match=r"org\.yaml:3: sources\.git\[0\]: 'name_from' applies to a 'path_glob'"):
        parse_config("sources:\n  git:\n    - url: x\n      name_from: parent\n", "org.yaml")


# -- hullcheck config check ---------------------------------------------------------------------------------------
def test_config_check_prints_owners_and_reachability_and_writes_nothing(
    org: Org, registry: Registry, basic_registry: Registry, hullcheck_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.push("shop/app", "1.0", _one_image("check"))
    basic_registry.push("private/app", "1", _one_image("private"))
    monkeypatch.setenv("CHECK_USER", basic_registry.username or "")
    monkeypatch.setenv("CHECK_PASS", basic_registry.password or "")
    org.repo("pay-api", [Commit(days_ago(1), DOCKERFILE)])
    org.repo("tools", [Commit(days_ago(1), DOCKERFILE)])
    org.extra["teams"] = [
        {"name": "payments", "profile": "microservice", "repos": ["pay-*"], "images": [f"{registry.host}/shop/*"]},
        {"name": "data", "profile": "datascience", "repos": ["ml-*"]},
    ]
    org.extra["registries"] = [
        {"url": registry.host, "repositories": ["shop/app"]},
        {"url": basic_registry.host, "repositories": ["private/app"],
         "credentials": {"username_env": "CHECK_USER", "password_env": "CHECK_PASS"}},
    ]  # fmt: skip
    cfg = org.write_config()
    audited = hullcheck_cli("audit", "-c", str(cfg), "-q")
    assert audited.returncode == 0, audited.stdout + audited.stderr
    db = org.root / "audit.duckdb"
    before = (db.read_bytes(), os.stat(db).st_mtime_ns)

    r = hullcheck_cli("config", "check", "-c", str(cfg))
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert f"config {cfg}: valid — 2 repositories, 2 registries, 0 layouts, 2 teams" in out
    assert f"database {db}: exists (not opened)" in out
    pay = next(line for line in out.splitlines() if line.strip().startswith("pay-api"))
    assert str(org.repos / "pay-api") in pay and "payments" in pay and "microservice" in pay
    assert "repos glob: team payments repos 'pay-*'" in pay
    tools = next(line for line in out.splitlines() if line.strip().startswith("tools"))
    assert "unowned" in tools and "unowned: no override, label, CODEOWNERS rule or glob matches" in tools
    assert f"{registry.host} (plain HTTP): reachable (anonymous access)" in out
    assert "credentials: none configured, none in the Docker config (anonymous)" in out
    assert "repository shop/app: exists (1 tags)" in out
    assert f"owner of shop/app: team payments (images glob: team payments images '{registry.host}/shop/*')" in out
    assert f"{basic_registry.host} (plain HTTP): reachable, auth required (Basic)" in out
    assert "credentials: from $CHECK_USER and $CHECK_PASS (both set)" in out
    assert "repository private/app: exists (1 tags)" in out
    assert "owner of private/app: unowned: no override, label, CODEOWNERS rule or glob matches" in out
    assert str(basic_registry.password) not in out + r.stderr
    assert '  warning: team data: repos glob "ml-*" matches no configured repository' in out
    assert "  warning: 1 repository is owned by no team (unowned): tools" in out
    assert f"  warning: 1 image repository is owned by no team (unowned): {basic_registry.host}/private/app" in out
    assert out.rstrip().endswith("ok: every source can be read")
    assert (db.read_bytes(), os.stat(db).st_mtime_ns) == before


def test_config_check_exits_1_on_problems_and_2_on_an_invalid_config(
    org: Org, registry: Registry, basic_registry: Registry, hullcheck_cli: Cli
) -> None:
    org.repo("api", [Commit(days_ago(1), DOCKERFILE)])
    org.sources.append({"path_glob": str(org.root / "nothing" / "*")})
    org.extra["registries"] = [
        {"url": "127.0.0.1:1"},
        {"url": basic_registry.host, "repositories": ["private/app"]},
        {"url": registry.host, "repositories": ["shop/frontnd"]},
        {"url": registry.host, "repositories": ["x"], "credentials": {"username_env": "NO_SUCH_USER_VAR_1",
                                                                       "password_env": "NO_SUCH_PASSWORD_VAR_1"}},
    ]  # fmt: skip
    org.extra["layouts"] = [{"path": str(org.root / "exports" / "*.tar")}]
    cfg = org.write_config()
    r = hullcheck_cli("config", "check", "-c", str(cfg))
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    assert f"problem: path_glob {org.root / 'nothing' / '*'} matched no " \
           "directory" in out  # fmt: skip
    assert "127.0.0.1:1 (plain HTTP): refused" in out
    assert "problem: 127.0.0.1:1: refused: the connection was refused" in out
    assert f"problem: {registry.host}: shop/frontnd: the repository does not exist in that registry" in out
    assert "$NO_SUCH_USER_VAR_1 and $NO_SUCH_PASSWORD_VAR_1; not set: $NO_SUCH_USER_VAR_1, $NO_SUCH_PASSWORD_VAR_1" \
        in out  # fmt: skip
    assert f"problem: layout {org.root / 'exports' / '*.tar'}: the glob matched no file or directory" in out
    assert "credentials: none configured, none in the Docker config (anonymous)" in out
    assert f"problem: {basic_registry.host}: the registry requires a login (Basic) and no credentials were found" in out
    assert "8 problems: an audit of this config would end partial" in out
    assert not (org.root / "audit.duckdb").exists() and not (org.root / "cache").exists()

    bad = org.root / "bad.yaml"
    bad.write_text("sources:\n  git:\n    - url: x\n      name_from: parent\n")
    invalid = hullcheck_cli("config", "check", "-c", str(bad))
    assert invalid.returncode == 2
    assert f"{bad}:3: sources.git[0]: 'name_from' applies to a 'path_glob'" in invalid.stderr
