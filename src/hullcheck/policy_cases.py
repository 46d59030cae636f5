"""Policy cases: files and image configs in, findings expected out, under named team situations.

One case file per policy (`tests/cases/policies/<id>.yaml`, or `<policies_dir>/cases/<id>.yaml`):

    policy: unpinned-base
    situations:                  # optional; every shipped or config profile name is a situation too
      strict: {profile: microservice, policies: {unpinned-base: {require_digest: true}}}
    cases:
      - name: no tag
        files: {Dockerfile: "FROM python\\n"}          # a repository holding exactly these files
        images:                                        # image tags (registry `cases.local`)
          - {repository: api, tag: "1", layers: [150MB], config: {User: ""}, platforms: [linux/amd64]}
        expect:                                        # per situation: the findings, [] = none
          microservice: [{path: Dockerfile, line: 1, evidence: {pin: no tag}}]
          strict: [{line: 1}]

Each (case, situation) becomes its own repository (`<case>--<situation>`) owned by a team of that
situation, its files run through the same pure extraction an audit uses and written by the same
writer; the whole file is one real run, evaluated by the real engine into a real DuckDB file.
An expected finding matches when every key it gives equals the finding's (`message` as a
substring, `evidence` as a subset). Used by the generic test and by `hullcheck policies validate`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from hullcheck.audit import AuditSummary, begin_run, publish_run
from hullcheck.config import Config, parse_config
from hullcheck.crawl.known import known_git, known_image_digests
from hullcheck.crawl.rows import ImageResult, RepoResult, SnapshotRow, TagRow
from hullcheck.crawl.writer import GitWriter, write_images
from hullcheck.errors import ConfigError
from hullcheck.extract.commit import extract_files
from hullcheck.extract.image.layer_scan import FilesSummary
from hullcheck.extract.image.manifest import parse_config as parse_image_config
from hullcheck.extract.image.manifest import parse_manifest
from hullcheck.policy.catalog import Catalog, Policy
from hullcheck.policy.units import parse_bytes
from hullcheck.store import Store

REGISTRY = "cases.local"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass
class Case:
    name: str
    files: dict[str, str] = field(default_factory=dict)
    images: list[dict[str, Any]] = field(default_factory=list)
    expect: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return _SLUG.sub("-", self.name.lower()).strip("-")[:60] or "case"


@dataclass
class CaseFile:
    policy: str
    situations: dict[str, dict[str, Any]]
    cases: list[Case]
    path: Path


@dataclass
class Mismatch:
    case: str
    situation: str
    problem: str


def load_cases(path: Path) -> CaseFile:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list) or not data["cases"]:
        raise ConfigError(f"{path}: a case file has `policy:` and a non-empty `cases:` list")
    cases = []
    for i, c in enumerate(data["cases"]):
        if not isinstance(c, dict) or "name" not in c or not isinstance(c.get("expect"), dict):
            raise ConfigError(f"{path}: cases[{i}] needs `name` and `expect` (situation: [findings])")
        extra = set(c) - {"name", "files", "images", "expect"}
        if extra:
            raise ConfigError(f"{path}: cases[{i}] ({c['name']}): unknown keys {sorted(extra)}")
        cases.append(Case(str(c["name"]), dict(c.get("files") or {}), list(c.get("images") or []),
                          {str(k): list(v or []) for k, v in c["expect"].items()}))  # fmt: skip
    slugs = [c.slug for c in cases]
    if len(set(slugs)) != len(slugs):
        raise ConfigError(f"{path}: two cases have the same name")
    return CaseFile(str(data.get("policy", "")), dict(data.get("situations") or {}), cases, path)


def situations_of(cf: CaseFile, catalog: Catalog) -> dict[str, dict[str, Any]]:
    out = {name: {"profile": name} for name in catalog.profiles}
    out.update(cf.situations)
    for case in cf.cases:
        for name in case.expect:
            if name not in out:
                raise ConfigError(f"{cf.path}: case '{case.name}' expects findings under unknown situation '{name}'")
    return out


def case_config(cf: CaseFile, catalog: Catalog, database: Path, waivers: list[dict[str, Any]] | None = None) -> Config:
    teams = []
    for name, body in situations_of(cf, catalog).items():
        team = {"name": name, "repos": [f"*--{name}"], "images": [f"{REGISTRY}/*--{name}/*"]}
        team.update(body)
        teams.append(team)
    doc = {"database": str(database), "teams": teams, "waivers": waivers or []}
    return parse_config(yaml.safe_dump(doc, sort_keys=False), f"{cf.path} (situations)")


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def image_facts(repository: str, spec: dict[str, Any]) -> tuple[TagRow, ImageResult]:
    """The rows a registry crawl stores for an image described in a case (no blobs needed: sizes are listed)."""
    result = ImageResult(REGISTRY)
    platforms = spec.get("platforms") or ["linux/amd64"]
    children = []
    for n, platform in enumerate(platforms):
        os_, _, arch = str(platform).partition("/")
        arch, _, variant = arch.partition("/")
        layers = [parse_bytes(x) for x in spec.get("layers", [1_000_000])]
        diff_ids = [_digest(b"%d-%d" % (n, i)) for i in range(len(layers))]
        config = {"architecture": arch, "os": os_, "config": spec.get("config") or {},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": spec.get("history") or [],
                  "created": spec.get("created", "2026-11-01T00:00:00Z")}  # fmt: skip
        if variant:
            config["variant"] = variant
        config_bytes = json.dumps(config).encode()
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                               "digest": _digest(config_bytes), "size": len(config_bytes)},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                "digest": _digest(b"%s-%d-%d" % (repository.encode(), n, i)), "size": size}
                               for i, size in enumerate(layers)],
                    "annotations": spec.get("annotations") or {}}  # fmt: skip
        manifest_bytes = json.dumps(manifest).encode()
        m = parse_manifest(manifest_bytes, _digest(manifest_bytes))
        result.manifests[m.digest] = m
        result.configs[_digest(config_bytes)] = parse_image_config(config_bytes, _digest(config_bytes))
        if spec.get("summary") is not None:
            result.summaries[m.digest] = FilesSummary(**_summary(spec["summary"]))
        plat = {"os": os_, "architecture": arch, **({"variant": variant} if variant else {})}
        children.append({"mediaType": OCI_MANIFEST, "digest": m.digest, "size": len(manifest_bytes), "platform": plat})
    tag_digest, media = next(iter(result.manifests)), OCI_MANIFEST
    if len(platforms) > 1:
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}).encode()
        idx = parse_manifest(index, _digest(index))
        result.manifests[idx.digest] = idx
        tag_digest, media = idx.digest, OCI_INDEX
    tag = TagRow(REGISTRY, repository, str(spec.get("tag", "latest")), tag_digest, media, "new")
    result.tags.append(tag)
    return tag, result


def _summary(given: dict[str, Any]) -> dict[str, Any]:
    base: dict[str, Any] = {"uncompressed_bytes": 0, "final_bytes": 0, "wasted_bytes": 0, "file_count": 0,
                            "upx_files": [], "toolchains": [], "data_files": [], "data_bytes": 0,
                            "has_shell": True, "package_managers": []}  # fmt: skip
    for key, value in given.items():
        base[key] = parse_bytes(value) if key.endswith("_bytes") else value
    return base


def write_case_run(
    store: Store, cfg: Config, catalog: Catalog, cf: CaseFile, today: date | None = None
) -> AuditSummary:
    """One run holding every (case, situation) as a repository and its images, evaluated."""
    summary = AuditSummary(begin_run(store, cfg, None, None))
    writer = GitWriter(store, summary.run_id, 1000)
    known, digests = known_git(store), known_image_digests(store)  # a second run of a case file: as a nightly rerun
    for case in cf.cases:
        for situation in case.expect:
            repo = f"{case.slug}--{situation}"
            if case.files:
                files = {p: (t.encode() if isinstance(t, str) else bytes(t)) for p, t in case.files.items()}
                commit = hashlib.sha1(repo.encode(), usedforsecurity=False).hexdigest()
                snap = SnapshotRow(repo, f"cases/{repo}", "refs/heads/main", commit, None, "extracted")
                if (repo, commit) in known.commits:
                    snap.status = "unchanged"
                    writer.add(RepoResult(snap))
                else:
                    writer.add(RepoResult(snap, True, extract_files(files, repo, commit, known=known.blobs)))
                summary.git.total += 1
            for spec in case.images:
                _, result = image_facts(f"{repo}/{spec.get('repository', 'app')}", spec)
                for tag in result.tags:
                    tag.status = "known" if tag.digest in digests else "new"
                result.manifests = {d: m for d, m in result.manifests.items() if d not in digests}
                result.configs = {d: c for d, c in result.configs.items() if d not in digests}
                result.summaries = {d: x for d, x in result.summaries.items() if d not in digests}
                write_images(store, summary.run_id, result)
    writer.flush()
    publish_run(store, cfg, catalog, summary, today)
    return summary


def _matches(expected: dict[str, Any], found: dict[str, Any]) -> bool:
    for key, want in expected.items():
        have = found.get(key)
        if key == "message":
            if str(want) not in str(have or ""):
                return False
        elif key == "evidence":
            ev = json.loads(have) if isinstance(have, str) else (have or {})
            if any(ev.get(k) != v for k, v in want.items()):
                return False
        elif key == "image":
            if not str(have or "").endswith(str(want)):
                return False
        elif have != want:
            return False
    return True


FINDING_COLUMNS = ("policy_id", "severity", "team", "profile", "subject_kind", "subject", "repo", "path", "line",
                   "stage", "service", "image", "message", "evidence", "params", "fingerprint", "waived")  # fmt: skip


def run_case_file(cf: CaseFile, policy: Policy, catalog: Catalog, workdir: Path) -> list[Mismatch]:
    """Evaluate a case file; every expected finding must be found, and nothing else for this policy."""
    if cf.policy != policy.id:
        return [Mismatch("-", "-", f"the case file names policy '{cf.policy}', expected '{policy.id}'")]
    cfg = case_config(cf, catalog, workdir / f"{policy.id}.duckdb")
    with Store.open(cfg.database_path, memory_limit=cfg.database_memory_limit) as store:
        summary = write_case_run(store, cfg, catalog, cf)
        ev = summary.evaluation
        if ev is None or ev.errors:
            errs = summary.evaluation_error if ev is None else "; ".join(e.error for e in ev.errors)
            return [Mismatch("-", "-", f"the evaluation failed: {errs}")]
        found = findings_of(store, summary.run_id, policy.id)
    problems = []
    for case in cf.cases:
        for situation, expected in case.expect.items():
            prefix = f"{case.slug}--{situation}"
            mine = [f for f in found if (f["repo"] or f["subject"].removeprefix(f"{REGISTRY}/")).startswith(prefix)]
            left = list(mine)
            for want in expected:
                hit = next((f for f in left if _matches(want, f)), None)
                if hit is None:
                    got = "; ".join(_brief(f) for f in mine) or "no finding"
                    problems.append(Mismatch(case.name, situation, f"expected {want}, found: {got}"))
                else:
                    left.remove(hit)
            for extra in left:
                problems.append(Mismatch(case.name, situation, f"unexpected finding: {_brief(extra)}"))
    return problems


def findings_of(store: Store, run_id: int, policy_id: str) -> list[dict[str, Any]]:
    result = store.query("case_findings", [run_id, policy_id])
    return [dict(zip(FINDING_COLUMNS, row, strict=True)) for row in result]


def _brief(f: dict[str, Any]) -> str:
    where = f["image"] or f"{f['path']}:{f['line']}" + (f"#{f['service']}" if f["service"] else "")
    return f"{f['severity']} {where}: {f['message']} {f['evidence']}"


def waiver_for(finding: dict[str, Any], policy_id: str, expires: date) -> dict[str, Any]:
    return {"policy": policy_id, "subject": finding["subject"], "reason": "accepted for the case test",
            "author": "case-runner", "expires": expires.isoformat()}  # fmt: skip
