"""Findings out of the database: SARIF 2.1.0 for code-scanning tabs, a versioned JSON shape, CSV.

All three are built from one query (`sql/queries/export_findings.sql`): the findings of a run, waived
ones included, each with its state against the evaluated run before it (`new`, `unchanged`, or
`absent` for a previous finding gone now). Pure functions of those rows and the catalog: the CLI
reads, these shape, and nothing here writes the database.

SARIF, as code scanning reads it (GitHub's upload, Azure DevOps, the SARIF viewers):
- one `run` per file; `tool.driver.rules` from the catalog (title, rationale, what to do instead,
  references, the hadolint / dockle / Trivy / KICS / Checkov equivalents);
- a result per finding: a physical location (the repository-relative path, the line when there is
  one) for Dockerfiles, Compose services and repository files, a logical location for images and
  Compose services; `partialFingerprints` from the fingerprint (which ignores line moves);
  `baselineState`; a waived finding carries an accepted external `suppression` with its reason;
- `properties` with team, profile, situation and the parameters that applied, so a reader of the
  code-scanning alert sees why it fired for this team.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from hullcheck import __version__
from hullcheck.policy.catalog import Catalog, Policy

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "hullcheck/v1"  # partialFingerprints key: the fingerprint's own versioned name
JSON_FORMAT = "hullcheck-findings"
JSON_VERSION = 1  # docs/findings.schema.json; a change of shape is a new version
LEVELS = {"info": "note", "warning": "warning", "error": "error", "critical": "error"}
# GitHub code scanning orders alerts by `security-severity` (0-10) for rules tagged `security`.
SECURITY_SEVERITY = {"info": "2.0", "warning": "5.0", "error": "7.5", "critical": "9.5"}

# The `findings` view's columns, in its order (docs/schema.md): the CSV's header and the JSON's keys.
FINDING_COLUMNS = ("run_id", "effective_at", "evaluation_id", "policy_id", "severity", "team", "profile",
                   "subject_kind", "subject", "repo", "path", "line", "stage", "service", "image", "digest",
                   "message", "evidence", "params", "fingerprint", "waived", "waiver_reason", "waiver_expires",
                   "waived_by", "catalog_version", "config_hash")  # fmt: skip


@dataclass(frozen=True)
class ExportRun:
    """The run exported and what it is compared with."""

    run_id: int
    effective_at: datetime
    evaluation_id: int
    previous_run_id: int | None
    catalog_version: str
    config_hash: str

    def described(self) -> dict[str, Any]:
        """The run as both exports name it (SARIF run properties, the JSON's `run`)."""
        return {"run_id": self.run_id, "effective_at": self.effective_at.isoformat(),
                "evaluation_id": self.evaluation_id, "baseline_run_id": self.previous_run_id,
                "catalog_version": self.catalog_version, "config_hash": self.config_hash}  # fmt: skip


def records(columns: list[str], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Rows of export_findings as dicts, JSON columns parsed."""
    out = []
    for row in rows:
        r = dict(zip(columns, row, strict=True))
        for key in ("evidence", "params"):
            r[key] = json.loads(r[key]) if isinstance(r[key], str) else r[key]
        out.append(r)
    return out


# -- SARIF -----------------------------------------------------------------------------------------
def sarif(findings: list[dict[str, Any]], catalog: Catalog, run: ExportRun, base_url: str | None = None) -> dict:
    """One SARIF 2.1.0 log with one run holding `findings`, rules from `catalog`."""
    ids = sorted(set(catalog.policies) | {f["policy_id"] for f in findings})
    rules = [_rule(pid, catalog.policies.get(pid), base_url) for pid in ids]
    index = {pid: k for k, pid in enumerate(ids)}
    driver: dict[str, Any] = {"name": "hullcheck", "version": __version__, "semanticVersion": __version__,
                              "rules": rules}  # fmt: skip
    if base_url:
        driver["informationUri"] = base_url
    out_run: dict[str, Any] = {
        "tool": {"driver": driver},
        "automationDetails": {"id": f"hullcheck/run-{run.run_id}/"},
        "originalUriBaseIds": {"REPOROOT": {"description": {"text": "The root of the repository the path is in."}}},
        "results": [_result(f, index[f["policy_id"]]) for f in findings],
        "properties": run.described(),
    }
    if run.previous_run_id is not None:
        out_run["baselineGuid"] = _guid(f"run-{run.previous_run_id}")
    out_run["automationDetails"]["guid"] = _guid(f"run-{run.run_id}")
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [out_run]}


def _rule(pid: str, policy: Policy | None, base_url: str | None) -> dict[str, Any]:
    if policy is None:  # a finding of an org policy no longer in the catalog: the rule says so
        text = f"{pid} (no longer in the catalog)"
        return {"id": pid, "name": _name(pid), "shortDescription": {"text": text}, "fullDescription": {"text": text},
                "help": {"text": text}, "properties": {"tags": ["hullcheck"]}}  # fmt: skip
    m = policy.meta
    equivalents = {k: v for k, v in m.equivalents.model_dump().items() if v}
    also = "; ".join(f"{tool}: {', '.join(v)}" for tool, v in equivalents.items())
    refs = list(m.references)
    text = f"{m.rationale.strip()}\n\nWhat to do instead: {m.instead.strip()}"
    md = f"{m.rationale.strip()}\n\n**What to do instead:** {m.instead.strip()}"
    if refs:
        text += "\n\nReferences:\n" + "\n".join(f"- {r}" for r in refs)
        md += "\n\n**References:**\n" + "\n".join(f"- <{r}>" for r in refs)
    if also:
        text += f"\n\nEquivalent checks: {also}"
        md += f"\n\n**Equivalent checks:** {also}"
    rule: dict[str, Any] = {
        "id": pid,
        "name": _name(pid),
        "shortDescription": {"text": m.title},
        "fullDescription": {"text": m.rationale.strip()},
        "help": {"text": text, "markdown": md},
        "defaultConfiguration": {"level": LEVELS.get(m.severity, "warning")},
        "properties": {
            "tags": sorted({"hullcheck", m.category}),
            "category": m.category,
            "subjects": list(m.subject),
            "equivalents": equivalents,
            "parameters": {
                k: {
                    "type": s.type,
                    "default": policy.show(k, policy.defaults[k]),
                    "unit": s.unit,
                    "description": s.description.strip(),
                }
                for k, s in m.params.items()
            },
        },
    }
    if m.category == "security":
        rule["properties"]["security-severity"] = SECURITY_SEVERITY.get(m.severity, "5.0")
    if base_url:
        rule["helpUri"] = f"{base_url.rstrip('/')}/policies/{pid}.html"
    elif refs:
        rule["helpUri"] = refs[0]
    return rule


def _name(pid: str) -> str:
    """SARIF's `name` is an identifier-like rule name: `root-user` -> `RootUser`."""
    return "".join(part.capitalize() for part in pid.split("-"))


def _result(f: dict[str, Any], rule_index: int) -> dict[str, Any]:
    params = f["params"] or {}
    r: dict[str, Any] = {
        "ruleId": f["policy_id"],
        "ruleIndex": rule_index,
        "level": LEVELS.get(f["severity"], "warning"),
        "message": {"text": f["message"] or f["policy_id"]},
        "locations": [_location(f)],
        "partialFingerprints": {FINGERPRINT_KEY: f["fingerprint"]},
        "properties": {
            "severity": f["severity"],
            "team": f["team"],
            "profile": f["profile"],
            "situation": params.get("situation"),
            "parameters": params.get("values") or {},
            "subject_kind": f["subject_kind"],
            "subject": f["subject"],
            "evidence": f["evidence"] or {},
            "run_id": f["run_id"],
        },
    }
    if f.get("baseline_state"):
        r["baselineState"] = f["baseline_state"]
    if f["waived"]:
        suppression: dict[str, Any] = {"kind": "external", "status": "accepted",
                                       "justification": f["waiver_reason"] or "waived"}  # fmt: skip
        if f["waived_by"] or f["waiver_expires"]:
            suppression["properties"] = {"waived_by": f["waived_by"], "expires": _iso(f["waiver_expires"])}
        r["suppressions"] = [suppression]
    return r


def _location(f: dict[str, Any]) -> dict[str, Any]:
    loc: dict[str, Any] = {}
    if f["path"]:
        physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(f["path"]), "uriBaseId": "REPOROOT"}}
        if f["line"] and f["line"] > 0:
            physical["region"] = {"startLine": int(f["line"])}
        loc["physicalLocation"] = physical
    logical = []
    if f["subject_kind"] == "image":
        logical.append({"name": f["image"] or f["subject"], "fullyQualifiedName": _image_name(f), "kind": "resource"})
    elif f["subject_kind"] == "compose_service" and f["service"]:
        logical.append({"name": f["service"], "fullyQualifiedName": f"{f['repo']}/{f['path']}#{f['service']}",
                        "kind": "object"})  # fmt: skip
    elif f["subject_kind"] == "repo" or not f["path"]:
        logical.append({"name": f["repo"] or f["subject"], "kind": "module"})
    if logical:
        loc["logicalLocations"] = logical
    return loc


def _image_name(f: dict[str, Any]) -> str:
    return f"{f['image']}@{f['digest']}" if f["image"] and f["digest"] else f["image"] or f["subject"]


_UNRESERVED = "/-._~!$&'()*+,;=:@"  # RFC 3986 pchar and '/': kept; everything else percent-encoded


def artifact_uri(path: str) -> str:
    """A repository-relative path as a relative URI reference (`a b/#x` -> `a%20b/%23x`)."""
    return quote(path.lstrip("/"), safe=_UNRESERVED)


def _guid(seed: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hullcheck:{seed}"))


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date | datetime) else v


# -- JSON ------------------------------------------------------------------------------------------
def json_document(findings: list[dict[str, Any]], run: ExportRun) -> dict[str, Any]:
    """The versioned JSON shape (docs/findings.schema.json): the run, then one object per finding with
    the `findings` view's columns (evidence and params as objects) and `baseline_state`."""
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "tool": {"name": "hullcheck", "version": __version__},
        "run": run.described(),
        "findings": [
            {**{c: _iso(f[c]) for c in FINDING_COLUMNS}, "baseline_state": f["baseline_state"]} for f in findings
        ],
    }


# -- CSV -------------------------------------------------------------------------------------------
def csv_text(findings: list[dict[str, Any]]) -> str:
    """The `findings` view's columns in its order, then `baseline_state`; one row per finding."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*FINDING_COLUMNS, "baseline_state"])
    for f in findings:
        w.writerow([_cell(f[c]) for c in (*FINDING_COLUMNS, "baseline_state")])
    return buf.getvalue()


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict | list):
        v = json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    v = _iso(v)
    return spreadsheet_text(v) if isinstance(v, str) else v


def spreadsheet_text(v: str) -> str:
    """A spreadsheet runs a cell starting with = + - @ (or a tab or CR before one) as a formula: a hostile
    path or label must stay text. Every CSV hullcheck writes for people (export, the report) goes through it."""
    return "'" + v if v[:1] in ("=", "+", "-", "@", "\t", "\r") else v


# -- one file per repository -----------------------------------------------------------------------
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(repo: str | None) -> str:
    """A file name for a repository's export that no repository name can turn into a path elsewhere
    (`../x`, `a/b`, a leading dot): unsafe runs become `_`, and a short hash keeps two names apart."""
    if repo is None:
        return "_no-repository"
    import hashlib

    safe = _SAFE.sub("_", repo).strip("._") or "repo"
    digest = hashlib.sha256(repo.encode()).hexdigest()[:8]
    return f"{safe[:80]}-{digest}"
