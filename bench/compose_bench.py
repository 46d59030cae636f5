"""Extraction cost per Compose project: the in-process loader vs `docker compose config` per project.

    python bench/compose_bench.py [N]        (default N=200 synthetic repositories)

Projects: the synthetic org's (one compose.yaml per repository, from synth_org.py) and the
Compose conformance corpus in tests/compose_cases (real-world features: anchors, overrides,
extends, include, interpolation). Each project is loaded from bytes already in memory, so the
figure is the extractor alone; the crawl reads the same bytes through `git cat-file --batch`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from synth_org import make_org

from hullcheck.extract.compose.load import load_compose_project

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_BIN = Path(sys.executable).with_name("docker-compose")


def _reader(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in directory.rglob("*")
        if p.is_file() and ".git" not in p.parts and p.stat().st_size < 1_000_000
    }


def _time_ours(projects: list[dict[str, bytes]], rounds: int = 5) -> list[float]:
    per_project = []
    for files in projects:
        start = time.perf_counter()
        for _ in range(rounds):
            facts = load_compose_project(files.get, "")
        per_project.append((time.perf_counter() - start) / rounds)
        assert facts.project is not None
    return per_project


def _time_compose(dirs: list[Path]) -> list[float]:
    out = []
    for d in dirs:
        start = time.perf_counter()
        subprocess.run([str(COMPOSE_BIN), "--project-directory", str(d), "config", "--format", "json"],
                       capture_output=True, cwd=d, env={"PATH": "/usr/bin:/bin", "HOME": str(d)})  # fmt: skip
        out.append(time.perf_counter() - start)
    return out


def _report(label: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[int(len(ms) * 0.95) - 1] if len(ms) >= 20 else ms[-1]
    print(f"{label:<48} n={len(ms):4d}  mean {statistics.mean(ms):7.3f} ms  median {statistics.median(ms):7.3f} ms"
          f"  p95 {p95:7.3f} ms")  # fmt: skip


def main(n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="hc-compose-bench-") as tmp:
        make_org(Path(tmp), n)
        synth_dirs = sorted((Path(tmp) / "repos").iterdir())
        corpus_dirs = sorted(p for p in (ROOT / "tests" / "compose_cases").iterdir() if p.is_dir())
        synth, corpus = [_reader(d) for d in synth_dirs], [_reader(d) for d in corpus_dirs]
        _report("hullcheck, synthetic org projects", _time_ours(synth))
        _report("hullcheck, conformance corpus projects", _time_ours(corpus))
        if COMPOSE_BIN.exists():
            _report("docker compose config, synthetic (first 50)", _time_compose(synth_dirs[:50]))
            _report("docker compose config, conformance corpus", _time_compose(corpus_dirs))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
