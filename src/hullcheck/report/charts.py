"""The report's charts, drawn by matplotlib as PNG (the same bytes go on the site and, by CID, in mails).

`Figure` objects, never pyplot: no global figure state, nothing shown, safe in a worker thread.
Labels come from repositories and configs (team names, image names): mathtext is off, so a name
with `$` is drawn as written, never parsed.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

Row = dict[str, Any]
SEVERITY_COLOURS = {"critical": "#7f1d1d", "error": "#dc2626", "warning": "#f59e0b", "info": "#93c5fd"}
_STYLE = {
    "text.parse_math": False,
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#e5e7eb",
    "axes.edgecolor": "#9ca3af",
    "svg.fonttype": "none",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PALETTE = ["#2563eb", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#db2777", "#65a30d", "#6b7280"]


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def _short(text: str, n: int = 38) -> str:
    """A label: control characters (a CR in a team name) as spaces, cut to `n` characters."""
    text = _CONTROL.sub(" ", text)
    return text if len(text) <= n else text[: n - 1] + "…"


def _bytes(v: float, _pos: object = None) -> str:
    for unit, f in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(v) >= f:
            return f"{v / f:.3g} {unit}"
    return f"{v:.0f} B"


def findings_by_severity(trend: Sequence[Row], title: str) -> bytes:
    """Open findings per week, stacked by severity."""
    with rc_context(_STYLE):
        fig = Figure(figsize=(7.2, 2.8))
        ax = fig.subplots()
        weeks = [r["week"][5:] for r in trend]
        bottom = [0] * len(trend)
        for sev in ("info", "warning", "error", "critical"):
            values = [int(r.get(f"open_{sev}") or 0) for r in trend]
            ax.bar(weeks, values, bottom=bottom, color=SEVERITY_COLOURS[sev], label=sev, width=0.7)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_title(_short(title, 80), loc="left", fontsize=10)
        ax.set_ylabel("open findings")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, reverse=True)
        ax.tick_params(axis="x", labelrotation=45)
        return _png(fig)


def new_vs_resolved(trend: Sequence[Row], title: str) -> bytes:
    """New (and reopened) against resolved findings per week."""
    with rc_context(_STYLE):
        fig = Figure(figsize=(7.2, 2.6))
        ax = fig.subplots()
        xs = list(range(len(trend)))
        new = [int((r.get("new") or 0) + (r.get("reopened") or 0)) for r in trend]
        fixed = [int(r.get("resolved") or 0) for r in trend]
        ax.bar([x - 0.2 for x in xs], new, width=0.4, color="#dc2626", label="new + reopened")
        ax.bar([x + 0.2 for x in xs], fixed, width=0.4, color="#16a34a", label="resolved")
        ax.set_xticks(xs, [r["week"][5:] for r in trend], rotation=45)
        ax.set_title(_short(title, 80), loc="left", fontsize=10)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        return _png(fig)


def size_against_budget(images: Sequence[Row], title: str, limit: int = 25) -> bytes | None:
    """Each image's compressed size as a bar, its budget as a tick; over budget in red. Largest excess first."""
    shown = [r for r in images if r.get("compressed_bytes") is not None][:limit]
    if not shown:
        return None
    with rc_context({**_STYLE, "axes.grid.axis": "x"}):
        fig = Figure(figsize=(7.2, 0.9 + 0.28 * len(shown)))
        ax = fig.subplots()
        ys = list(range(len(shown)))[::-1]
        sizes = [r["compressed_bytes"] for r in shown]
        colours = ["#dc2626" if r.get("within_budget") is False else "#2563eb" for r in shown]
        ax.barh(ys, sizes, color=colours, height=0.6)
        budgets = [(y, r["budget_bytes"]) for y, r in zip(ys, shown, strict=True) if r.get("budget_bytes")]
        if budgets:
            ax.scatter([b for _, b in budgets], [y for y, _ in budgets], marker="|", s=220, color="#111827",
                       label="budget", zorder=3)  # fmt: skip
            ax.legend(loc="lower right", frameon=False)
        ax.set_yticks(ys, [_short(str(r["image"]), 48) for r in shown])
        ax.xaxis.set_major_formatter(FuncFormatter(_bytes))
        ax.set_title(_short(title, 80), loc="left", fontsize=10)
        return _png(fig)


def registry_bytes(rows: Sequence[Row], weeks: Sequence[str], title: str, teams: int = 7) -> bytes | None:
    """Registry bytes attributed per team over time (each blob once, shared blobs split): the largest
    `teams` teams as lines, the rest summed as 'other teams'."""
    if not rows:
        return None
    totals: dict[str, float] = {}
    for r in rows:
        totals[r["team"]] = max(totals.get(r["team"], 0.0), float(r["attributed_bytes"] or 0))
    named = sorted(totals, key=lambda t: -totals[t])[:teams]
    # A week without image facts (a backfilled week) is a gap in the line, not a zero.
    nan = float("nan")
    series: dict[str, list[float]] = {t: [nan] * len(weeks) for t in named}
    if len(totals) > len(named):
        series["other teams"] = [nan] * len(weeks)
    index = {w: i for i, w in enumerate(weeks)}
    for r in rows:
        key = r["team"] if r["team"] in series else "other teams"
        if r["week"] in index:
            i = index[r["week"]]
            before = series[key][i]
            series[key][i] = (0.0 if before != before else before) + float(r["attributed_bytes"] or 0)
    with rc_context(_STYLE):
        fig = Figure(figsize=(7.2, 2.8))
        ax = fig.subplots()
        labels = [w[5:] for w in weeks]
        for k, (team, values) in enumerate(series.items()):
            ax.plot(labels, values, marker="o", markersize=3, color=_PALETTE[k % len(_PALETTE)], label=_short(team))
        ax.yaxis.set_major_formatter(FuncFormatter(_bytes))
        ax.set_ylim(bottom=0)
        ax.set_title(_short(title, 80), loc="left", fontsize=10)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        ax.tick_params(axis="x", labelrotation=45)
        return _png(fig)
