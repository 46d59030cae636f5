"""Every error hullcheck raises on purpose, rooted in `HullcheckError`, one family per layer.

Code recognises an error by its type, never by its message: a deleted tag is a
`RegistryNotFound`, a database another writer holds a `DatabaseBusy`, a missing
config file a `ConfigNotFound`. Messages are for humans: they name the file, the
registry or the repository, and say what to do.

- `ConfigError`: the config cannot be used (the CLI exits 2; no run is recorded).
- `SourceError`: a git remote, a registry or a layout on disk could not be read; the crawl
  turns it into an error row, and the run ends partial.
- `ExtractError`: content that could not be understood; extractors turn it into a fact
  (`parse_error`, a Compose project's `error`), never into a failed audit.
- `StoreError`: the database cannot be used.
- `NotFound`: mixed into the families above for "the thing named does not exist".
"""

from __future__ import annotations


class HullcheckError(Exception):
    """Root of hullcheck's own errors; the message is meant for a human."""


class NotFound(HullcheckError):
    """What was asked for does not exist (a tag, a blob, a file, a database)."""


# -- config ---------------------------------------------------------------------------------
class ConfigError(HullcheckError):
    """The config cannot be used; the message says where and why."""


class ConfigNotFound(ConfigError, NotFound):
    """The config file does not exist."""


# -- sources ----------------------------------------------------------------------------------
class SourceError(HullcheckError):
    """A source could not be read."""


class GitSourceError(SourceError):
    """A repository could not be read."""


class GitUnreachable(GitSourceError):
    """The git server could not be reached, or failed mid-transfer (reset, early EOF, HTTP 5xx/429): a
    retry a few seconds later may succeed, unlike a repository that is not there or refuses us."""


class RegistryError(SourceError):
    """A registry (or an image layout on disk) could not be read; the message names it."""


class RegistryNotFound(RegistryError, NotFound):
    """The registry answered that the repository, tag, manifest or blob does not exist."""


class Stopped(HullcheckError):
    """The audit was asked to stop (SIGTERM, Ctrl-C); the run is recorded failed."""


class Interrupted(SourceError):
    """The crawl was asked to stop (SIGTERM, Ctrl-C) before this read."""


class CredentialError(SourceError):
    """Credentials were configured but cannot be read (Docker config, credential helper)."""


# -- extract ----------------------------------------------------------------------------------
class ExtractError(HullcheckError):
    """Content that could not be understood (it becomes a fact, not a failure)."""


# -- store ------------------------------------------------------------------------------------
class StoreError(HullcheckError):
    """The database cannot be used; the message says why and what to do."""


class DatabaseMissing(StoreError, NotFound):
    """A read-only command found no database (no audit has run yet)."""


class DatabaseLocked(StoreError):
    """Another process holds the database file (DuckDB's own lock)."""


class DatabaseBusy(StoreError):
    """Another hullcheck writer (an audit, `evaluate`, `db prune`) held the database past the wait."""


class QueryParameterError(StoreError):
    """An ad-hoc query's named parameters (`$name`) and the values given for them do not match."""

    def __init__(self, missing: list[str], unused: list[str], positional: list[str]) -> None:
        self.missing, self.unused, self.positional = missing, unused, positional
        parts = [f"no value for ${n}" for n in missing]
        parts += [f"a value for {n}, which the query does not use" for n in unused]
        if positional:
            parts.append("positional parameters (? or $1) cannot be given values: name them ($name)")
        super().__init__("; ".join(parts))


# -- report ------------------------------------------------------------------------------------
class MailError(HullcheckError):
    """The mail relay cannot be reached or refuses us (connection, TLS, login); the message names it."""
