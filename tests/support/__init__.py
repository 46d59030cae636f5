"""Helpers for the tests (and the benchmarks in bench/): importable as `support`.

pytest puts tests/ on sys.path (tests/conftest.py is imported in the default "prepend" mode and
tests/ has no __init__.py), so tests write `from support.org import Org`; bench/ scripts add
tests/ once through bench/_support.py. Nothing here is collected as a test.

Modules:

- `org`: `Org`, a tmp organization of real git repositories with its config and queries on the
  audit database; `NOW`, `days_ago()`, and `git()` to run git in a repository.
- `git_servers`: real git servers on loopback: `git daemon` (git://), git's smart HTTP
  (`git http-backend`) and "dumb" HTTP (a plain file server).
- `cases`: the one YAML case loader: named cases from a file or a directory of files, as
  `Case` objects (`load_cases`) or as `pytest.param`s for `parametrize` (`params`).
- `oci`: deterministic OCI images, a real registry, a token issuer, a fault-injecting proxy
  (see `support.oci`).
- `registry_fixtures`: a pytest plugin (registered in tests/conftest.py) with registry
  fixtures: `registry`, `basic_registry`, `token_registry`, `pushed_registry`, `registry_proxy`.
"""
