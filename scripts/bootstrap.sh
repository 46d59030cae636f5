#!/usr/bin/env bash
# Sourced by scripts/demo and scripts/test: make sure the machine has what hullcheck needs
# (plus the Debian packages named in $APT_PACKAGES),
# then a virtualenv in .venv with hullcheck installed (editable, with the test tools and the Prefect
# extra: everything the repository runs). Idempotent and quiet when done.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

need_apt=()
command -v git >/dev/null 2>&1 || need_apt+=(git)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  need_apt+=(python3-venv)
fi
for pkg in ${APT_PACKAGES:-}; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# Optional packages (e.g. upx-ucl, in Debian 13 but not 12): looked up once per virtualenv.
optional_stamp=".venv/.hullcheck-optional-apt"
if [ -n "${OPTIONAL_APT_PACKAGES:-}" ] && [ ! -f "$optional_stamp" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq || true
  for pkg in $OPTIONAL_APT_PACKAGES; do
    if ! dpkg -s "$pkg" >/dev/null 2>&1 && apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      need_apt+=("$pkg")
    fi
  done
  mkdir -p .venv && touch "$optional_stamp"
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "hullcheck needs Python 3.11 or newer")'

stamp=".venv/.hullcheck-installed"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# Reinstall only when the dependency list changed.
want="$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing hullcheck and its dependencies into .venv (first run takes a minute)" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check -U pip 2>&1 | grep -v "^WARNING: Location" >&2 || true
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev,flows,dask]" 2>&1 | grep -v "^WARNING: Location" >&2 || true
  .venv/bin/python -c 'import hullcheck, duckdb, git, dockerfile, prefect, oras' # fail loudly if the install did not work
  echo "$want" > "$stamp"
  echo "ready: $(.venv/bin/hullcheck --version 2>/dev/null || echo hullcheck) in .venv, with the test tools and Prefect (flows/)" >&2
fi
# The test helpers (tests/support: git servers, registries, the OCI image builder) are importable as
# `support` in this development virtualenv, for pytest and for the bench/ scripts alike: the same
# mechanism as the editable install of hullcheck itself (a .pth file), so no script edits sys.path.
site="$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$ROOT/tests" > "$site/hullcheck-test-support.pth"
export PATH="$ROOT/.venv/bin:$PATH"
export VIRTUAL_ENV="$ROOT/.venv"
