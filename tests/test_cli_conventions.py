"""What every command shares, as a user meets it: `--version`, `-h`, help without Python types, one exit
code table, a bug reported as one line and a log file, JSON on every listing, colour only when wanted,
and summaries that count what a run covers."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from support.org import Org, days_ago

from hullcheck import __version__
from hullcheck.demo.gitbuild import Commit

Cli = Callable[..., subprocess.CompletedProcess[str]]
ROOT = Path(__file__).resolve().parents[1]

# Every command path, with the help of each printed by one process (a process per command costs ~0.6 s).
_WALK = """
import sys, typer
from hullcheck.cli.app import app, main
def paths(cmd, prefix):
    yield prefix
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from paths(sub, prefix + [name])
for path in paths(typer.main.get_command(app), []):
    print("=== " + " ".join(path), flush=True)
    sys.argv = ["hullcheck", *path, "-h"]
    try:
        main()
    except SystemExit as e:
        print(f"=== exit {e.code}", flush=True)
"""
_PYTHON_TYPE = re.compile(r"<(str|int|bool|path|float|list\[str\])>|list\[str\]|<class ")


def test_version_and_short_help(hullcheck_cli: Cli) -> None:
    r = hullcheck_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"hullcheck {__version__}"
    short, long = hullcheck_cli("-h"), hullcheck_cli("--help")
    assert short.returncode == 0 and short.stdout == long.stdout
    assert "Exit codes" in short.stdout and "--install-completion" in short.stdout
    for command in ("audit", "registry", "policies", "db", "report", "findings"):
        assert re.search(rf"^\s+{command}\s", short.stdout, re.M), f"{command} missing from the command list"


def test_no_help_shows_a_python_type() -> None:
    out = subprocess.run([sys.executable, "-c", _WALK], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    sections = re.split(r"^=== (?!exit)(.*)$", out.stdout, flags=re.M)[1:]
    helps = dict(zip(sections[::2], sections[1::2], strict=True))
    assert {"", "audit", "registry ls", "policies list", "db prune", "report"} <= set(helps)
    assert len(helps) >= 20
    for path, text in helps.items():
        assert "=== exit 0" in text, f"`hullcheck {path} -h` did not exit 0:\n{text}"
        assert "Usage: hullcheck" in text
        found = _PYTHON_TYPE.findall(text)
        assert not found, f"`hullcheck {path} -h` shows Python types {found}:\n{text}"
    audit = helps["audit"]
    assert "--as-of DATE" in audit and "--only GLOB" in audit and "-c, --config FILE" in audit
    assert re.search(r"^\s+-q, --quiet\s+No progress", audit, re.M), "a flag takes no value"


def test_exit_codes_one_case_each(org: Org, hullcheck_cli: Cli, tmp_path: Path) -> None:
    org.repo("api", [Commit(days_ago(1), {"Dockerfile": "FROM python:3.12\n"})])
    cfg = org.write_config()
    assert hullcheck_cli("audit", "-q", "-c", str(cfg)).returncode == 0
    org.sources.append({"url": str(org.root / "gone"), "name": "gone"})
    partial = org.write_config()
    assert hullcheck_cli("audit", "-q", "-c", str(partial)).returncode == 1
    missing = hullcheck_cli("audit", "-c", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "no such config file" in missing.stderr
    usage = hullcheck_cli("runs", "--limit", "zero")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_a_bug_is_one_line_and_a_log_file_with_secrets_redacted(tmp_path: Path) -> None:
    # A real bug is introduced into a real run of the CLI: the command's own function raises.
    bug = (
        "import sys, hullcheck.cli.policies as p\n"
        "def broken(*a, **k):\n"
        "    raise KeyError('https://bot:hunter2secret@git.example.org/x.git')\n"
        "p._catalog = broken\n"
        "sys.argv = ['hullcheck', 'policies', 'list']\n"
        "from hullcheck.cli.app import main\n"
        "main()\n"
    )
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    r = subprocess.run([sys.executable, "-c", bug], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 3
    assert "Traceback" not in r.stderr and "hunter2secret" not in r.stderr
    assert r.stderr.startswith("error: internal error: KeyError")
    logs = list((tmp_path / "state" / "hullcheck").glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in r.stderr
    text = logs[0].read_text()
    assert "Traceback (most recent call last)" in text and "in broken" in text and "policies list" in text
    assert "hunter2secret" not in text and "git.example.org" in text


@pytest.fixture
def audited_twice(org: Org, hullcheck_cli: Cli) -> Path:
    org.repo("api", [Commit(days_ago(3), {"Dockerfile": "FROM python:3.12\nUSER app\n"})])
    org.repo("web", [Commit(days_ago(3), {"Dockerfile": "FROM nginx\n", "ops/Dockerfile": "FROM alpine\n"})])
    cfg = org.write_config()
    assert hullcheck_cli("audit", "-q", "-c", str(cfg)).returncode == 0
    assert hullcheck_cli("audit", "-q", "-c", str(cfg), "--as-of", days_ago(2).strftime("%Y-%m-%d")).returncode == 0
    return cfg


def test_audit_json_summary_counts_what_the_run_covers(audited_twice: Path, hullcheck_cli: Cli) -> None:
    r = hullcheck_cli("audit", "-c", str(audited_twice), "--format", "json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)  # stdout is the JSON object alone: no progress lines mixed in
    assert s["version"] == 1 and s["status"] == "ok" and s["exit_code"] == 0
    assert s["repositories"] == {"total": 2, "extracted": 0, "unchanged": 2, "empty": 0, "failed": 0}
    # A night with no change still covers every Dockerfile: 3, none of them new or changed.
    assert s["dockerfiles"] == {"total": 3, "new_or_changed": 0}
    assert s["evaluation"]["policies"] >= 20 and s["evaluation"]["findings"] >= 1
    text = hullcheck_cli("audit", "-c", str(audited_twice), "-q")
    assert "3 Dockerfiles (0 new or changed)" in text.stdout, text.stdout


def test_the_first_audit_says_every_dockerfile_is_new(org: Org, hullcheck_cli: Cli) -> None:
    org.repo("api", [Commit(days_ago(3), {"Dockerfile": "FROM python:3.12\n", "b/Dockerfile": "FROM alpine\n"})])
    r = hullcheck_cli("audit", "-q", "-c", str(org.write_config()))
    assert "2 Dockerfiles (2 new or changed)" in r.stdout, r.stdout


def test_runs_newest_moment_first_with_as_of_and_human_durations(audited_twice: Path, hullcheck_cli: Cli) -> None:
    r = hullcheck_cli("runs", "-c", str(audited_twice), "--format", "json")
    assert r.returncode == 0, r.stderr
    runs = json.loads(r.stdout)
    # Run 2 audited two days ago (--as-of): it sorts after run 1, which audited today.
    assert [x["run_id"] for x in runs] == [1, 2]
    assert runs[0]["as_of"] is None and runs[1]["as_of"] is not None
    assert isinstance(runs[0]["duration_seconds"], float) and runs[0]["findings"] >= 1
    assert {"registries", "tags", "only_repos", "image_failures"} <= set(runs[0])
    table = hullcheck_cli("runs", "-c", str(audited_twice))
    assert "(as of)" in table.stdout and "0:00:" not in table.stdout
    assert re.search(r"\d+\.\d\ds", table.stdout), table.stdout
    as_csv = hullcheck_cli("runs", "-c", str(audited_twice), "--format", "csv").stdout.splitlines()
    assert as_csv[0].startswith("run_id,status,effective_at,as_of,only_repos") and len(as_csv) == 3


def test_only_runs_show_their_globs(audited_twice: Path, hullcheck_cli: Cli) -> None:
    assert hullcheck_cli("audit", "-q", "-c", str(audited_twice), "--only", "we*").returncode == 0
    runs = json.loads(hullcheck_cli("runs", "-c", str(audited_twice), "--format", "json").stdout)
    assert runs[0]["only_repos"] == ["we*"] and runs[0]["repos_total"] == 1
    assert "--only we*" in hullcheck_cli("runs", "-c", str(audited_twice)).stdout


@pytest.mark.parametrize(
    "args",
    [["findings"], ["waivers"], ["policies", "list"], ["runs"]],
    ids=["findings", "waivers", "policies-list", "runs"],
)
def test_every_listing_speaks_json(args: list[str], audited_twice: Path, hullcheck_cli: Cli) -> None:
    config = [] if args[0] == "policies" else ["-c", str(audited_twice)]
    r = hullcheck_cli(*args, *config, "--format", "json")
    assert r.returncode == 0, r.stderr
    parsed = json.loads(r.stdout)
    assert isinstance(parsed, list)
    if args[0] != "waivers":  # the test org has no waivers
        assert parsed and isinstance(parsed[0], dict)
    bad = hullcheck_cli(*args, *config, "--format", "yaml")
    assert bad.returncode == 2 and "use table, csv or json" in bad.stderr


def _on_a_terminal(args: list[str], env: dict[str, str]) -> bytes:
    """Run the CLI with its stderr on a pseudo-terminal (where colour is allowed) and return what it wrote."""
    main, secondary = pty.openpty()
    try:
        subprocess.run([sys.executable, "-m", "hullcheck", *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=secondary, env=env, timeout=60)  # fmt: skip
        os.close(secondary)
        chunks = []
        while True:
            try:
                data = os.read(main, 65536)
            except OSError:  # EIO: the other side is closed and drained
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)
    finally:
        os.close(main)


def test_colour_on_a_terminal_unless_no_color(tmp_path: Path) -> None:
    args = ["audit", "-c", str(tmp_path / "missing.yaml")]
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    coloured = _on_a_terminal(args, env)
    assert b"no such config file" in coloured and b"\x1b[" in coloured
    plain = _on_a_terminal(args, {**env, "NO_COLOR": "1"})
    assert b"no such config file" in plain and b"\x1b[" not in plain
