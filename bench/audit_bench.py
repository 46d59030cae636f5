"""Full audit vs no-change rerun, at two org sizes, through the real `hullcheck audit` command.

    python bench/audit_bench.py [--git-daemon] [N1 N2 ...]        (default: 200 1000)

Remotes are file:// URLs (refs of an unchanged repo are then read in-process), or with
--git-daemon a real `git daemon` on loopback (one `git ls-remote` per repo, as for any
network transport).

Prints, per size: full audit seconds, no-change seconds; then the marginal cost per
repository between the two sizes (so the fixed start-up cost cancels) and the ratio
no-change / full that the project holds to <= 5 %.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from support.git_servers import start_git_daemon
from synth_org import make_org

HULLCHECK = Path(sys.executable).with_name("hullcheck")


def timed_audit(config: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run([str(HULLCHECK), "audit", "-q", "-c", str(config)], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"audit failed:\n{proc.stdout}\n{proc.stderr}")
    print("   ", proc.stdout.strip().splitlines()[0])
    return elapsed


def main(sizes: list[int], daemon: bool) -> None:
    results: dict[int, tuple[float, float]] = {}
    for n in sizes:
        root = Path(tempfile.mkdtemp(prefix=f"hcbench-{n}-"))
        t0 = time.perf_counter()
        server, url_base = start_git_daemon(root / "repos") if daemon else (None, None)
        config = make_org(root, n, url_base=url_base)
        print(f"N={n}: generated in {time.perf_counter() - t0:.1f}s at {root}")
        full = timed_audit(config)
        nochange = timed_audit(config)
        results[n] = (full, nochange)
        print(
            f"N={n}: full audit {full:.2f}s ({full / n * 1000:.1f} ms/repo), "
            f"no-change audit {nochange:.2f}s ({nochange / n * 1000:.1f} ms/repo)"
        )
        if server is not None:
            server.terminate()
            server.wait()
        shutil.rmtree(root)
    if len(sizes) >= 2:
        a, b = sizes[0], sizes[-1]
        full_marginal = (results[b][0] - results[a][0]) / (b - a)
        nochange_marginal = (results[b][1] - results[a][1]) / (b - a)
        print(
            f"marginal per repo ({a}->{b}): full {full_marginal * 1000:.1f} ms, "
            f"no-change {nochange_marginal * 1000:.1f} ms, ratio {nochange_marginal / full_marginal:.1%}"
        )


if __name__ == "__main__":
    args = sys.argv[1:]
    use_daemon = "--git-daemon" in args
    main([int(a) for a in args if a != "--git-daemon"] or [200, 1000], use_daemon)
