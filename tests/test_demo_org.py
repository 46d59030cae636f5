"""The demo org tells its story: audited as a ten-week backfill and one nightly audit would audit it.

The demo (hullcheck.demo) is what a new user sees first; these assertions are the trend it must show:
three teams in three situations, findings that are resolved and reopened across weeks, a repository
that appears late, a Dockerfile that is deleted, a base layer two teams share, and an image budget
that is judged per situation (the smaller payments image is over budget, the larger data one is not).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hullcheck.audit import AuditSummary, run_audit
from hullcheck.backfill import backfill_moments
from hullcheck.config import Config, load_config
from hullcheck.dates import parse_as_of
from hullcheck.demo import create_demo_org
from hullcheck.demo.org import histories, week_clock
from hullcheck.store import Store


@dataclass
class Story:
    cfg: Config
    weeks: list[AuditSummary]  # the as-of audits at the end of each of the last ten ISO weeks, oldest first
    nightly: AuditSummary  # the normal audit after them (the only one that reads images)

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with Store.open(self.cfg.database_path, read_only=True) as store:
            return store.select(sql, params or []).rows

    def week_of(self, run_id: int) -> int:
        return [s.run_id for s in self.weeks].index(run_id) + 1


@pytest.mark.parametrize(
    "now",
    [datetime(2026, 11, 30, 0, 0, 30, tzinfo=UTC), datetime(2026, 12, 2, 12, tzinfo=UTC),
     datetime(2026, 12, 6, 23, 59, 50, tzinfo=UTC)],
    ids=["monday-just-after-midnight", "wednesday", "sunday-night"],
)  # fmt: skip
def test_week_n_of_the_story_is_the_nth_of_the_last_ten_iso_weeks(now: datetime) -> None:
    """Whatever the weekday, the as-of audit at the end of week n sees the commits of weeks 1..n only."""
    ends = backfill_moments(now, 10, timedelta(days=7))
    at = week_clock(now)
    assert len(ends) == 10
    for week, end in enumerate(ends, start=1):
        assert end - timedelta(days=7) < at(week, 0, 0) and at(week, 6, 23) <= end
    assert all(c.when < now for commits in histories(now).values() for c in commits)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    root = tmp_path_factory.mktemp("demo-org")
    with pytest.MonkeyPatch.context() as mp:  # no user git config leaks in (see conftest._isolated_git)
        mp.setenv("HOME", str(root / "home"))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        cfg = load_config(create_demo_org(root / "demo"))
        ends = backfill_moments(datetime.now(UTC), 10, timedelta(days=7))
        # As a user would type them: the Sunday that ends each week, which parse_as_of reads as 23:59:59 UTC.
        weeks = [run_audit(cfg, as_of=parse_as_of(end.date().isoformat())) for end in ends]
        nightly = run_audit(cfg)
    yield Story(cfg, weeks, nightly)


def test_every_audit_is_ok(story: Story) -> None:
    assert len(story.weeks) == 10
    for s in [*story.weeks, story.nightly]:
        assert s.status == "ok" and s.git.failed == 0, s.git.failures
    assert story.nightly.images.tags_seen >= 6 and not story.nightly.images.failures
    assert story.nightly.git.total == story.weeks[-1].git.total >= 10


def test_three_teams_in_three_situations_own_subjects(story: Story) -> None:
    owned = story.query(
        "SELECT team, profile, count(*) FROM latest_ownership WHERE team <> 'unowned' GROUP BY ALL ORDER BY 1, 2"
    )
    profiles = {team: profile for team, profile, _ in owned}
    assert {"payments": "microservice", "storefront": "monolith", "data": "datascience"}.items() <= profiles.items()
    assert len(set(profiles.values())) >= 3
    assert all(n >= 5 for _, _, n in owned)
    assert story.cfg.email is not None and story.cfg.email.org_to == ["platform@demo.example"]
    assert all(t.email for t in story.cfg.teams)


def test_findings_come_and_go_week_by_week(story: Story) -> None:
    totals = story.query(
        "SELECT run_id, sum(new), sum(resolved), sum(reopened), sum(new + reopened + persisting) "
        "FROM finding_changes GROUP BY run_id ORDER BY run_id"
    )
    weekly = {run: row for run, *row in totals if run in {s.run_id for s in story.weeks}}
    assert len(weekly) == 10
    assert all(20 <= open_ <= 100 for _, _, _, open_ in weekly.values())
    assert sum(r[1] for r in weekly.values()) > 0 and sum(r[2] for r in weekly.values()) > 0
    assert len({open_ for *_, open_ in weekly.values()}) > 3  # the trend moves
    # payments-ledger goes multi-stage in week 3; the fix is reverted in week 8, and the same finding reopens.
    runs = story.query(
        "SELECT run_id FROM findings WHERE policy_id = 'root-user' AND subject = 'payments-ledger/Dockerfile'"
    )
    assert sorted(story.week_of(r) for (r,) in runs if r != story.nightly.run_id) == [1, 2, 8, 9, 10]
    reopened = story.query(
        "SELECT run_id FROM finding_changes WHERE team = 'payments' AND policy_id = 'root-user' AND reopened > 0"
    )
    assert [story.week_of(r) for (r,) in reopened] == [8]
    # ...while payments-api's single-stage build is resolved in week 4 and stays resolved.
    toolchain = story.query(
        "SELECT run_id FROM findings WHERE policy_id = 'single-stage-toolchain' AND repo = 'payments-api'"
    )
    assert sorted(story.week_of(r) for (r,) in toolchain) == [1, 2, 3]


def test_a_repository_appears_late_and_a_dockerfile_goes_away(story: Story) -> None:
    fraud = story.query("SELECT DISTINCT run_id FROM ownership WHERE repo = 'payments-fraud'")
    weeks = sorted(story.week_of(r) for (r,) in fraud if r != story.nightly.run_id)
    assert weeks == list(range(6, 11))
    cron = story.query("SELECT DISTINCT run_id FROM ownership WHERE subject = 'storefront-shop/docker/cron/Dockerfile'")
    assert sorted(story.week_of(r) for (r,) in cron) == [1, 2, 3, 4]


def test_two_teams_share_a_base_layer(story: Story) -> None:
    shared = story.query(
        "SELECT l.layer_digest, list(DISTINCT o.team ORDER BY o.team) FROM latest_image_layers l "
        "JOIN latest_ownership o ON o.subject_kind = 'image' AND o.registry = l.registry "
        "AND o.repository = l.repository AND o.tag = l.tag "
        "GROUP BY 1 HAVING count(DISTINCT o.team) > 1"
    )
    assert ["data", "payments"] in [teams for _, teams in shared]


def test_image_budgets_are_situational(story: Story) -> None:
    sizes = dict(
        story.query(
            "SELECT repository, max(compressed_bytes) FROM latest_image_manifests "
            "WHERE repository IN ('payments-ledger', 'ml-training') GROUP BY 1"
        )
    )
    assert sizes["ml-training"] > sizes["payments-ledger"] > 20_000_000  # the larger one is fine for data science
    over = story.query(
        "SELECT subject, team, profile, severity FROM latest_findings WHERE policy_id = 'image-size-budget'"
    )
    assert [(s.rsplit("/", 1)[-1], t, p) for s, t, p, _ in over] == [
        ("payments-ledger:2.1.0", "payments", "microservice")
    ]
    # The demo's one secret is judged, and its value is never stored.
    secrets = story.query("SELECT subject, message FROM latest_findings WHERE policy_id = 'secret-in-build'")
    assert any(s.endswith("payments-api:1.4.0") for s, _ in secrets)
    assert not any("changeme" in m for _, m in secrets)


def test_a_second_run_of_the_demo_is_incremental(story: Story) -> None:
    """Last: `hullcheck demo` run again keeps the repositories and images, so its audit finds nothing new."""
    config = story.cfg.source_path
    assert config is not None
    before = config.read_text()
    assert create_demo_org(config.parent) == config and config.read_text() == before
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(config.parent.parent / "home"))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        again = run_audit(load_config(config))
    assert again.status == "ok"
    assert again.git.unchanged == again.git.total == story.nightly.git.total
    assert again.images.tags_seen == story.nightly.images.tags_seen and again.images.tags_new == 0


def test_the_demo_report_opens_in_a_real_browser(story: Story) -> None:
    """Headless Chromium opens the demo's org page and a team page from the files: every chart has
    loaded with a real size, every internal link resolves, nothing errors; the screenshots (and a PDF
    print of the org page) are kept in .artifacts/demo-report/ (or $HULLCHECK_TEST_ARTIFACTS)."""
    from support.browser import artifacts_dir, check_pages

    from hullcheck.report.run import build_report

    report = build_report(story.cfg)
    out = report.rendered.out
    payments = next(t for t in report.site.teams if t.team == "payments")
    pages = [out / "index.html", out / "teams" / f"{payments.slug}.html"]
    checks = check_pages(pages, artifacts_dir("demo-report"))
    for check in checks:
        assert not check.problems, check.problems
        assert check.images >= 4 and check.links > 10, (check.path, check.images, check.links)
        assert check.screenshot.stat().st_size > 10_000
    assert checks[0].title.startswith("Organization") and checks[1].title.startswith("payments")
    assert checks[0].pdf is not None and checks[0].pdf.read_bytes().startswith(b"%PDF")
