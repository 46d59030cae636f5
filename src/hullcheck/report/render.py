"""The static report site: Jinja2 templates (autoescaped), matplotlib charts, a Markdown summary, CSV.

The site is written to a staging directory next to the target and swapped in at the end, so a
crashed render never leaves half a site where the last good one was.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from hullcheck.assets import templates_dir
from hullcheck.policy.export import spreadsheet_text
from hullcheck.policy.units import human_bytes
from hullcheck.report import charts
from hullcheck.report.model import SEVERITIES, Site
from hullcheck.store_files import swap_directory

Progress = Callable[[str], None]


@dataclass
class Rendered:
    out: Path
    pages: int = 0
    charts: dict[str, bytes] = field(default_factory=dict)  # name -> PNG, reused by the mails
    files: list[Path] = field(default_factory=list)

    def chart(self, name: str) -> bytes | None:
        return self.charts.get(name)


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(
            enabled_extensions=("html.j2",),
            disabled_extensions=("md.j2", "txt.j2"),
            default_for_string=True,
            default=True,
        ),
        undefined=StrictUndefined,  # a template naming a field that does not exist fails the test, not the reader
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(bytes=_bytes, pct=_pct, days=_days, md=md_escape, num=_num, when=_when, js=_json)
    env.globals["SEVERITIES"] = SEVERITIES
    return env


def render_site(site: Site, out: Path, base_url: str | None = None, progress: Progress | None = None) -> Rendered:
    """Write the whole site for `site` into `out` (replaced as a whole at the end)."""
    out = out.resolve()
    staging = out.with_name(f".{out.name}.staging-{os.getpid()}")
    for stale in out.parent.glob(f".{out.name}.*-[0-9]*"):  # left by a render that was killed
        if stale.name.rpartition("-")[0] in (f".{out.name}.staging", f".{out.name}.old"):
            shutil.rmtree(stale, ignore_errors=True)
    try:
        return _render(site, staging, out, base_url, progress)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # a failed render leaves no half-written staging copy


def _render(site: Site, staging: Path, out: Path, base_url: str | None, progress: Progress | None) -> Rendered:
    for sub in ("teams", "policies", "findings", "charts", "csv"):
        (staging / sub).mkdir(parents=True)
    result = Rendered(out)
    env = environment()
    week = site.data.week.week
    common = {"site": site, "week": site.data.week, "generated_at": site.data.generated_at, "base_url": base_url}

    if progress:
        progress(f"charts for the org and {len(site.teams)} teams")
    weeks = [w.week for w in site.data.window]
    jobs = _chart_jobs(site, weeks, week)
    result.charts = draw_all(jobs)
    for name, png in result.charts.items():
        (staging / "charts" / f"{name}.png").write_bytes(png)

    def chart(name: str) -> str | None:
        return f"charts/{name}.png" if name in result.charts else None

    def page(relative: str, template: str, **values: Any) -> None:
        root = "../" * relative.count("/")
        text = env.get_template(template).render(**common, root=root, **values)
        (staging / relative).write_text(text, encoding="utf-8")
        result.pages += 1

    org_charts = {k: chart(f"org-{k}") for k in ("findings", "flow", "registry", "budget")}
    page("index.html", "org.html.j2", charts=org_charts)
    for t in site.teams:
        team_charts = {k: chart(f"{t.slug}-{k}") for k in ("findings", "flow", "registry", "budget")}
        page(f"teams/{t.slug}.html", "team.html.j2", team=t, charts=team_charts)
    for p in site.policies:
        page(f"policies/{p.policy.id}.html", "policy.html.j2", page=p)
    if progress:
        progress(f"{len(site.findings)} finding pages")
    template = env.get_template("finding.html.j2")
    for f in site.findings:
        (staging / f["file"]).write_text(template.render(**common, root="../", f=f), encoding="utf-8")
        result.pages += 1
    shutil.copyfile(templates_dir() / "style.css", staging / "style.css")
    markdown = environment().get_template("report.md.j2").render(**common, root="")
    (staging / "report.md").write_text(markdown, encoding="utf-8")
    for name, table in site.data.tables.items():
        (staging / "csv" / f"{name}.csv").write_text(to_csv(table.columns, table.rows), encoding="utf-8")
    swap_directory(staging, out)  # readers see the old site or the new one
    result.files = sorted(p for p in out.rglob("*") if p.is_file())
    return result


ChartJob = tuple[str, str, tuple[Any, ...]]  # (chart name, function in `charts`, its arguments)


def _chart_jobs(site: Site, weeks: list[str], week: str) -> list[ChartJob]:
    """Every chart of the site as plain data, so that they can be drawn in other processes."""
    jobs: list[ChartJob] = [
        ("org-findings", "findings_by_severity", (site.org_trend, f"Open findings, org ({week})")),
        ("org-flow", "new_vs_resolved", (site.org_trend, "New against resolved findings per week")),
        ("org-registry", "registry_bytes", (site.data["registry_bytes"].rows, weeks,
                                            "Registry bytes per team (each layer once)")),
        ("org-budget", "size_against_budget", (site.data["images"].rows, f"Largest excess over budget ({week})")),
    ]  # fmt: skip
    for t in site.teams:
        registry_rows = [{"week": x["week"], "team": label, "attributed_bytes": x[key]}
                         for label, key in (("attributed", "attributed_bytes"), ("referenced", "referenced_bytes"))
                         for x in t.trend if x[key] is not None]  # fmt: skip
        jobs += [
            (f"{t.slug}-findings", "findings_by_severity", (t.trend, f"Open findings, {t.team}")),
            (f"{t.slug}-flow", "new_vs_resolved", (t.trend, f"New against resolved, {t.team}")),
            (f"{t.slug}-budget", "size_against_budget", (t.images, f"Size against budget ({week})")),
            (f"{t.slug}-registry", "registry_bytes", (registry_rows, weeks, f"Registry bytes, {t.team}")),
        ]
    return jobs


def _draw(job: ChartJob) -> tuple[str, bytes | None]:
    name, function, args = job
    return name, getattr(charts, function)(*args)


# Below this many charts, starting worker processes costs more than it saves.
_PARALLEL_FROM = 24


def draw_all(jobs: list[ChartJob]) -> dict[str, bytes]:
    """Draw every chart; on several cores, in worker processes (matplotlib holds the GIL while it draws).
    Workers are spawned, not forked: the parent holds DuckDB's threads."""
    workers = min(os.cpu_count() or 1, 8)
    if workers < 2 or len(jobs) < _PARALLEL_FROM:
        drawn = [_draw(j) for j in jobs]
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            drawn = list(pool.map(_draw, jobs, chunksize=max(1, len(jobs) // (workers * 4))))
    return {name: png for name, png in drawn if png is not None}


def to_csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns)
    for r in rows:
        w.writerow([_cell(r.get(c)) for c in columns])
    return buf.getvalue()


def _cell(v: Any) -> Any:
    # Hostile names must stay text in a spreadsheet (spreadsheet_text).
    if isinstance(v, (list, dict)):
        v = json.dumps(v, default=str, ensure_ascii=False)
    return spreadsheet_text(v) if isinstance(v, str) else v


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]<>()#+-.!|~"} | {"\n": " ", "\r": " "})


def md_escape(value: Any) -> str:
    """Text safe in Markdown (tables included): every markup character escaped, line breaks flattened."""
    return str(value).translate(_MD_SPECIAL)


def _bytes(v: Any) -> str:
    return "–" if v is None else human_bytes(int(v))


def _pct(v: Any) -> str:
    return "–" if v is None else f"{float(v) * 100:.0f} %"


def _days(v: Any) -> str:
    return "–" if v is None else f"{float(v):.1f} d"


def _num(v: Any) -> str:
    return "0" if v is None else f"{int(v):,}".replace(",", " ")


def _when(v: Any) -> str:
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(v, date):
        return v.isoformat()
    return "–" if v is None else str(v)


def _json(v: Any) -> str:
    return json.dumps(v, default=str, ensure_ascii=False)
