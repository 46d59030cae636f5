"""An audit's summary as a person reads it (what the run covers, what changed, what failed) and as a CI
job parses it (`hullcheck audit --format json`, one object on stdout; docs/cli.md has its shape)."""

from __future__ import annotations

import json
import sys
from typing import Any

from hullcheck.audit import AuditSummary
from hullcheck.cli.common import human_duration, shown

SUMMARY_VERSION = 1  # bumped when a key of the JSON summary changes meaning or goes away


def print_text(s: AuditSummary) -> None:
    g, i, cov = s.git, s.images, s.coverage
    repos = f"{g.total} repos: {g.extracted} extracted, {g.unchanged} unchanged, {g.empty} empty, {g.failed} failed"
    if cov is not None:
        covered = (f"{cov.dockerfiles} Dockerfiles ({cov.dockerfiles_changed} new or changed), "
                   f"{cov.compose_services} Compose services")  # fmt: skip
    else:
        covered = f"{g.dockerfiles} Dockerfiles read"
    print(f"run {s.run_id}: {s.status} — {repos}; {covered}; {g.stats.blobs_read} blobs read; "
          f"{human_duration(s.seconds)}")  # fmt: skip
    if i.sources:
        where = f" in {cov.registries} registries" if cov is not None and cov.registries else ""
        print(f"  {i.sources} image sources{where}: {i.tags_seen} tags, {i.tags_new} new digests, "
              f"{len(i.failures)} failures")  # fmt: skip
    ev = s.evaluation
    if ev is not None:
        counts = ", ".join(
            f"{n} {sev}" for sev in ("critical", "error", "warning", "info") if (n := ev.by_severity.get(sev))
        )
        waived = f", {ev.waived} waived" if ev.waived else ""
        print(f"  policies: {ev.policies} evaluated over {ev.subjects} subjects — {counts or 'no findings'}{waived} "
              f"({human_duration(ev.seconds)}; `hullcheck findings`)")  # fmt: skip
        for e in ev.errors:
            print(f"  policy failed: {e.policy_id}: {shown(e.error)}")
    elif s.evaluation_error:
        print(f"  policy evaluation failed: {shown(s.evaluation_error)}")
    for f in g.failures + i.failures:
        print(f"  failed: {shown(f)}")
    for w in s.warnings:  # complete, but not as configured (policy.coverage): not a failure
        print(f"  warning: {shown(w)}")


def as_json(s: AuditSummary) -> dict[str, Any]:
    g, i, ev, cov = s.git, s.images, s.evaluation, s.coverage
    return {
        "version": SUMMARY_VERSION,
        "run_id": s.run_id,
        "status": s.status,
        "exit_code": s.exit_code,
        "seconds": round(s.seconds, 3),
        "repositories": {
            "total": g.total,
            "extracted": g.extracted,
            "unchanged": g.unchanged,
            "empty": g.empty,
            "failed": g.failed,
        },
        "dockerfiles": None if cov is None else {"total": cov.dockerfiles, "new_or_changed": cov.dockerfiles_changed},
        "compose_services": None if cov is None else cov.compose_services,
        "blobs_read": g.stats.blobs_read,
        "images": {
            "sources": i.sources,
            "registries": None if cov is None else cov.registries,
            "tags": i.tags_seen,
            "new_digests": i.tags_new,
            "failures": len(i.failures),
        },
        "evaluation": None
        if ev is None
        else {
            "evaluation_id": ev.evaluation_id,
            "policies": ev.policies,
            "subjects": ev.subjects,
            "findings": ev.findings,
            "waived": ev.waived,
            "by_severity": dict(ev.by_severity),
            "policy_errors": [{"policy": e.policy_id, "error": e.error} for e in ev.errors],
            "seconds": round(ev.seconds, 3),
        },
        "evaluation_error": s.evaluation_error,
        "failures": list(g.failures + i.failures),
        "warnings": list(s.warnings),
    }


def print_json(s: AuditSummary) -> None:
    json.dump(as_json(s), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
