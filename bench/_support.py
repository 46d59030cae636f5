"""Importing this module makes the tests' helper package, tests/support, importable as `support`.

Why: the benchmarks start the same real servers and build the same images as the tests (git
daemon, docker-registry, the OCI image builder), and that code lives in tests/support/. Under
pytest, `support` is importable because pytest puts tests/ on sys.path; a script run as
`python bench/NAME.py` gets only bench/ there. So the bench scripts `import _support` before
any `from support... import`, and this adds the repository's tests/ directory, once.
"""

from __future__ import annotations

import sys
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1] / "tests"

if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))
