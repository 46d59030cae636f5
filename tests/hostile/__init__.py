"""Hostile inputs for a whole audit: a corpus built by code, the real CLI run on it, and the checks.

Importable as `hostile` (tests/ is on sys.path, as for `support`). Nothing here is collected as a
test; `tests/test_hostile_inputs.py` drives it through `suite.Suite.execute`.

Modules, from the bottom up:

- `model`: `Case`, `Canary`, the case registry (`register()`), selection by family and
  glob (`HOSTILE_FAMILIES`, `HOSTILE_CASES`), and `CaseBuilder`, the one API case builders use
  (plant a canary, write a marker outside the audited trees, write a repository, a layout, an image).
- `gitrepo`: bare git repositories from bytes paths (`git fast-import`, C-quoted paths): names git
  allows and Python's str does not (non-UTF-8 bytes, newlines, escapes).
- `blobs`: raw OCI pieces (tar streams with any header, gzip/zstd bombs, `RawImage`/`RawIndex`
  pushed or written byte-exact), OCI layouts, OCI archives and `docker save` tarballs of any shape.
- `fam_*`: the families of cases (`fam_compose`, `fam_names`, `fam_numbers`, `fam_dockerfile`,
  `fam_secrets`, `fam_images`, `fam_registry`). Importing `families` registers them all.
- `markers`: files outside every audited tree that must never be opened, watched with inotify
  (through libc, no package needed), with a self-test probe.
- `runner`: the CLI in a subprocess, its peak RSS from `wait4`, hard limits on RSS, CPU and wall time.
- `scan`: canaries searched in every base table and column, in the raw database files, in the
  CLI's output and in what hullcheck writes to its cache.
- `corpus`: the selected cases built on disk, and per-run views (symlinks) of a subset.
- `checks`: every case ends as facts or as an error row naming its subject.
- `reference`: a plain org of the same size, the RSS yardstick.
- `suite`: build, run twice, attribute crashes and RSS, check, report.
"""
