"""A real `git daemon` on a free loopback port (tests and bench/audit_bench.py share it)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path


def start_git_daemon(repos: Path, timeout: float = 20.0) -> tuple[subprocess.Popen[bytes], str]:
    """Serve every repository under `repos` over git://; returns (process, base URL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    repos.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        ["git", "daemon", "--export-all", "--reuseaddr", "--listen=127.0.0.1", f"--port={port}",
         f"--base-path={repos}", "--enable=upload-pack", "--max-connections=64", str(repos)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"git://127.0.0.1:{port}"
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("git daemon did not start")
