"""The trend views on a hand-built history: exact numbers.

Two teams. `a-svc` (team a, microservice) drops its USER in week 1, fixes it in week 2, loses it
again in week 3 and keeps it so in week 4: root-user is new, resolved after exactly 7 days,
reopened, persisting. `b-svc` (team b, datascience) is a two-stage build throughout. The weeks
are backfilled (`run_backfill`, the library behind `hullcheck backfill`); a normal audit this week
then reads a real registry where team a's and team b's images share one base layer, so the
dedup-aware registry bytes can be checked to the byte.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.oci.builder import File, Image, Layer
from support.oci.registry import Registry
from support.org import Org

from hullcheck.audit import run_audit
from hullcheck.backfill import backfill_moments, run_backfill
from hullcheck.demo.gitbuild import Commit

ROOT = 'FROM python:3.12-slim\nCOPY . /app\nCMD ["python", "/app/main.py"]\n'
FIXED = 'FROM python:3.12-slim\nCOPY . /app\nUSER 10001\nCMD ["python", "/app/main.py"]\n'
TWO_STAGE = (
    "FROM python:3.12 AS build\nRUN pip wheel -w /w numpy\nFROM python:3.12-slim\nCOPY --from=build /w /w\nUSER 1000\n"
)


def _week(moment: datetime) -> str:
    return moment.strftime("%G-W%V")


@pytest.fixture(scope="module")
def history(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> tuple[Org, list[datetime], dict[str, int]]:
    org = Org(tmp_path_factory.mktemp("trends"))
    now = datetime.now(UTC).replace(microsecond=0)
    s = backfill_moments(now, 4, timedelta(days=7))
    assert len(s) == 4
    day = timedelta(days=1)
    org.repo("a-svc", [Commit(s[0] - day, {"Dockerfile": ROOT, "main.py": "print(1)\n"}),
                       Commit(s[1] - day, {"Dockerfile": FIXED}, "run as non-root"),
                       Commit(s[2] - day, {"Dockerfile": ROOT}, "revert: USER broke the volume")])  # fmt: skip
    org.repo("b-svc", [Commit(s[0] - day, {"Dockerfile": TWO_STAGE})])
    base = Layer({"usr/lib/base.so": File(bytes(range(256)) * 40)}, compression="none")
    only_a = Layer({"app/a.bin": File(b"a" * 3000)}, compression="none")
    only_b = Layer({"app/b.bin": File(b"b" * 5000)}, compression="none")
    registry.push("a/app", "1", Image([base, only_a], {"User": "10001"}))
    registry.push("b/app", "1", Image([base, only_b], {"User": "10001"}))
    host = registry.host
    org.extra = {
        "teams": [
            {"name": "a", "profile": "microservice", "repos": ["a-*"], "images": [f"{host}/a/*"],
             "policies": {"image-size-budget": {"max_bytes": "10kB"}}},
            {"name": "b", "profile": "datascience", "repos": ["b-*"], "images": [f"{host}/b/*"]},
        ],
        "registries": [{"url": host, "repositories": ["a/app", "b/app"]}],
    }  # fmt: skip
    cfg = org.config()
    done = run_backfill(cfg, 4, timedelta(days=7), now=now)
    assert [m for m, _ in done.audits] == s and all(a.status == "ok" for _, a in done.audits)
    assert run_audit(cfg).status == "ok"
    sizes = {"base": len(base.tar), "a": len(only_a.tar), "b": len(only_b.tar)}
    return org, s, sizes


def test_root_user_is_new_resolved_reopened_and_persisting_week_by_week(
    history: tuple[Org, list[datetime], dict[str, int]],
) -> None:
    org, s, _ = history
    rows = org.query("SELECT week, open, new, resolved, reopened, waived FROM weekly_findings "
                     "WHERE team = 'a' AND policy_id = 'root-user' ORDER BY week")  # fmt: skip
    got = {r[0]: r[1:] for r in rows}
    assert got[_week(s[0])] == (1, 1, 0, 0, 0)
    assert got[_week(s[1])] == (0, 0, 1, 0, 0)
    assert got[_week(s[2])] == (1, 0, 0, 1, 0)
    assert got[_week(s[3])] == (1, 0, 0, 0, 0)


def test_time_to_resolve_is_measured_from_the_run_that_opened_it(
    history: tuple[Org, list[datetime], dict[str, int]],
) -> None:
    org, s, _ = history
    rows = org.query("SELECT week, days_to_resolve FROM finding_resolutions WHERE policy_id = 'root-user'")
    assert rows == [(_week(s[1]), 7.0)]
    # Every finding team a resolved in week 2 had opened in week 1: each took exactly 7 days.
    days = org.query("SELECT days_to_resolve FROM finding_resolutions WHERE team = 'a' AND week = ?", [_week(s[1])])
    assert days and {d for (d,) in days} == {7.0}
    week = org.query("SELECT resolved, mean_days_to_resolve, median_days_to_resolve FROM weekly_resolution "
                     "WHERE team = 'a' AND week = ?", [_week(s[1])])  # fmt: skip
    assert week == [(len(days), 7.0, 7.0)]


def test_multi_stage_share_per_team(history: tuple[Org, list[datetime], dict[str, int]]) -> None:
    org, s, _ = history
    rows = org.query("SELECT team, dockerfiles, multi_stage, multi_stage_share FROM weekly_dockerfiles "
                     "WHERE week = ? ORDER BY team", [_week(s[0])])  # fmt: skip
    assert rows == [("a", 1, 0, 0.0), ("b", 1, 1, 1.0)]


def test_registry_bytes_count_a_shared_layer_once_split_between_the_teams(
    history: tuple[Org, list[datetime], dict[str, int]],
) -> None:
    org, _, size = history
    week = datetime.now(UTC).strftime("%G-W%V")
    rows = org.query("SELECT team, referenced_bytes, exclusive_bytes, shared_bytes, attributed_bytes, org_bytes "
                     "FROM weekly_registry_bytes WHERE week = ? ORDER BY team", [week])  # fmt: skip
    org_bytes = size["base"] + size["a"] + size["b"]
    assert rows == [
        ("a", size["base"] + size["a"], size["a"], size["base"], size["base"] / 2 + size["a"], org_bytes),
        ("b", size["base"] + size["b"], size["b"], size["base"], size["base"] / 2 + size["b"], org_bytes),
    ]
    assert sum(r[4] for r in rows) == org_bytes  # the split adds up to what the registry stores
    # The backfilled weeks have no image facts: registries cannot be read in the past.
    assert org.scalar("SELECT count(DISTINCT week) FROM weekly_registry_bytes") == 1


def test_image_budgets_and_sizes_per_profile(history: tuple[Org, list[datetime], dict[str, int]]) -> None:
    org, _, size = history
    week = datetime.now(UTC).strftime("%G-W%V")
    images = org.query("SELECT team, compressed_bytes, budget_bytes, over_by_bytes, within_budget FROM weekly_images "
                       "WHERE week = ? ORDER BY team", [week])  # fmt: skip
    (a, b) = images
    assert a[0] == "a" and a[2] == 10_000 and a[3] == a[1] - 10_000 and a[4] is False
    assert a[1] == size["base"] + size["a"]  # the layers' blobs, as pulled
    assert b[0] == "b" and b[2] == 8_000_000_000 and b[4] is True
    sizes = org.query("SELECT team, profile, images, within_budget, over_budget, within_budget_share, median_bytes "
                      "FROM weekly_image_sizes WHERE week = ? ORDER BY team", [week])  # fmt: skip
    assert sizes == [("a", "microservice", 1, 0, 1, 0.0, a[1]), ("b", "datascience", 1, 1, 0, 1.0, b[1])]
    over = org.scalar("SELECT over_budget_bytes FROM weekly_registry_bytes WHERE team = 'a' AND week = ?", [week])
    assert over == a[1] - 10_000


def test_backfill_again_adds_nothing(history: tuple[Org, list[datetime], dict[str, int]]) -> None:
    org, s, _ = history
    before = org.scalar("SELECT count(*) FROM runs")
    again = run_backfill(org.config(), 4, timedelta(days=7))
    assert again.audits == [] and again.skipped == s
    assert org.scalar("SELECT count(*) FROM runs") == before


def test_report_weeks_stand_for_the_last_run_of_each_week(history: tuple[Org, list[datetime], dict[str, int]]) -> None:
    org, s, _ = history
    weeks = org.query("SELECT week, week_start, week_end, effective_at FROM report_weeks ORDER BY week")
    assert [w[0] for w in weeks[:4]] == [_week(m) for m in s]
    for (_, start, end, effective), moment in zip(weeks, s, strict=False):
        assert start.isoweekday() == 1 and end == moment.date() and effective == moment
    assert len(weeks) == 5  # and this week, from the normal audit


def test_backfill_cli_says_registries_have_no_past_and_skips_what_is_done(
    history: tuple[Org, list[datetime], dict[str, int]],
) -> None:
    org, _, _ = history
    cli = [sys.executable, "-m", "hullcheck", "backfill", "-c", str(org.root / "hullcheck.yaml")]
    done = subprocess.run([*cli, "--weeks", "4"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "registries and image layouts cannot be read as they were in the past" in done.stdout
    assert "4 of 4 moments were already audited (skipped)" in done.stdout and "nothing to do" in done.stdout
    bad = subprocess.run([*cli, "--every", "10m"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "one audit per hour at most" in bad.stderr


def test_report_without_a_database_says_what_to_run(tmp_path: Path) -> None:
    config = tmp_path / "hullcheck.yaml"
    config.write_text("database: nothing-yet.duckdb\n")
    done = subprocess.run([sys.executable, "-m", "hullcheck", "report", "-c", str(config)], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 2 and "no database yet; run `hullcheck audit` (or `hullcheck backfill`) first" in (
        done.stderr)  # fmt: skip
