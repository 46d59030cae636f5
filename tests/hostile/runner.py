"""The real CLI in a subprocess: `hullcheck audit -q -c CONFIG`, with its peak RSS, a cap and a timeout.

Peak RSS comes from `os.wait4` on the child: the kernel's `ru_maxrss` for the hullcheck process
and the descendants it waited for (git), the largest of them, per run (RUSAGE_CHILDREN would
mix every run of the test process together). A watchdog polls the process's VmRSS and CPU time
and kills its process group (started in a new session: hullcheck and its git children) past
`rss_cap`, past `cpu_limit` seconds of CPU, or past `timeout` seconds of wall time, so a bomb
that hullcheck does not bound ends as a finding, not as a machine out of memory. CPU time is the
main limit because it does not grow when other jobs share the machine (a busy CI box must not turn
a slow audit into a "crash"); the wall-clock limit, much longer, catches a run blocked on I/O.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

EXE = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "hullcheck"


@dataclass
class RunResult:
    label: str
    config: Path
    returncode: int | None
    stdout: str
    stderr: str
    peak_rss_kb: int
    seconds: float
    killed: str | None = None  # "rss" | "cpu" | "timeout" | None
    cpu_seconds: float = 0.0

    @property
    def crashed(self) -> str | None:
        """Why this run is a crash, in words; None when it ended as 0 or 1 without a traceback."""
        if self.killed == "rss":
            return f"killed: its RSS passed the cap ({self.peak_rss_kb // 1024} MB)"
        if self.killed == "cpu":
            return f"killed: used more than {self.cpu_seconds:.0f} s of CPU ({self.seconds:.0f} s of wall time)"
        if self.killed == "timeout":
            return f"killed: still running after {self.seconds:.0f} s"
        if "Traceback (most recent call last)" in self.stderr or "Traceback (most recent call last)" in self.stdout:
            return f"Traceback (exit {self.returncode}): {last_traceback_line(self.stderr + self.stdout)}"
        if self.returncode not in (0, 1):
            return f"exit {self.returncode}: {self.stderr.strip()[-500:]}"
        return None

    @property
    def peak_rss_mb(self) -> float:
        return self.peak_rss_kb / 1024


def last_traceback_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    idx = max((i for i, ln in enumerate(lines) if ln.startswith("Traceback")), default=-1)
    tail = lines[idx + 1 :] if idx >= 0 else lines
    where = next((ln.strip() for ln in reversed(tail) if ln.strip().startswith("File ")), "")
    return (tail[-1].strip() if tail else "") + (f"  [{where}]" if where else "")


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads), from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def run_audit(
    config: Path, label: str, *, timeout: float, cpu_limit: float, rss_cap_mb: int, env: dict[str, str]
) -> RunResult:
    out_path, err_path = config.parent / f"{label}.stdout", config.parent / f"{label}.stderr"
    started = time.monotonic()
    killed = None
    cpu = 0.0
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [str(EXE), "audit", "-q", "-c", str(config)],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            cwd=config.parent,
            env=env,
            start_new_session=True,
        )
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if killed is None:
                cpu = max(cpu, _cpu_seconds(proc.pid))
                if _rss_kb(proc.pid) > rss_cap_mb * 1024:
                    killed = "rss"
                elif cpu > cpu_limit:
                    killed = "cpu"
                elif time.monotonic() - started > timeout:
                    killed = "timeout"
                if killed:
                    os.killpg(proc.pid, signal.SIGKILL)  # the group of the process this function started
            time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return RunResult(
        label,
        config,
        proc.returncode,
        out_path.read_text(errors="backslashreplace"),
        err_path.read_text(errors="backslashreplace"),
        usage.ru_maxrss,
        time.monotonic() - started,
        killed,
        max(cpu, usage.ru_utime + usage.ru_stime),
    )
