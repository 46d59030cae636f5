"""`hullcheck config check`: what a config resolves to, before an audit — like `dbt debug`.

It loads the config (and checks it against the policy catalog, as an audit would), then prints
every repository with its owner, profile and how they were decided, every registry with whether
it answers and whether credentials were found, every layout, the warnings the config alone can
tell, and the problems an audit would meet. It writes nothing: the database is never opened and
no mirror is made, so it is safe on a production config, next to a running audit.

Exit status: 0 when every source can be read; 1 when some cannot (a glob that matches nothing, a
folder that is no repository, a registry that does not answer or lacks a repository, a layout
missing, credentials not set); 2 when the config itself is invalid. Warnings (a team glob that
matches nothing, repositories no team owns) are printed and do not change it, as in an audit.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hullcheck.cli.common import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, ConfigOpt, error, shown
from hullcheck.errors import HullcheckError

if TYPE_CHECKING:
    from hullcheck.config import Config, RegistrySource
    from hullcheck.policy.ownership import Owners
    from hullcheck.sources.registry_auth import Credentials

app = typer.Typer(help="Check the org config without auditing: what it resolves to, who owns it, what answers.",
                  no_args_is_help=True, add_completion=False)  # fmt: skip
MAX_NAMES_CHECKED = 50  # exact registry repositories looked up; a config listing thousands is checked in part


@app.command()
def check(
    config: ConfigOpt = Path("hullcheck.yaml"),
    timeout: Annotated[
        float, typer.Option(metavar="SECONDS", help="How long to wait for each registry's answer.", min=0.1)
    ] = 3.0,
) -> None:
    """Load the config and print what an audit would read: repositories with owner and profile, registries
    with reachability and credentials, layouts, warnings and problems. Writes nothing.

    Exit status: 0 when every source can be read, 1 when some cannot (a glob matching nothing, a folder that
    is no repository, a registry unreachable or lacking a repository, a layout missing), 2 when the config
    is invalid. Warnings (team globs matching nothing, repositories no team owns) leave it 0."""
    raise typer.Exit(run_config_check(config, timeout))


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def say(self, line: str = "") -> None:
        self.lines.append(line)

    def problem(self, text: str, indent: str = "  ") -> None:
        self.problems.append(text)
        self.lines.append(f"{indent}problem: {text}")


def run_config_check(config_path: Path, timeout: float) -> int:
    from hullcheck.audit import load_policies
    from hullcheck.config import load_config
    from hullcheck.policy.ownership import Owners
    from hullcheck.policy.situations import resolve_situations

    try:
        cfg = load_config(config_path)
        cfg.require_sources()
        catalog = load_policies(cfg)  # unknown profiles, policies, teams: config errors, as in an audit
        owners = Owners(cfg, set(resolve_situations(catalog, cfg).profiles))
    except HullcheckError as e:
        error(str(e))
        return EXIT_ERROR
    out = Report()
    db = cfg.database_path
    out.say(f"config {shown(cfg.source_path or config_path)}: valid — {len(cfg.git_repos)} repositories, "
            f"{len(cfg.registries)} registries, {len(cfg.layout_specs)} layouts, {len(cfg.teams)} teams")  # fmt: skip
    out.say(f"database {shown(db)}: {'exists' if db.exists() else 'not created yet'} (not opened)")
    repo_owners = _repositories(cfg, owners, out)
    image_owners = _registries(cfg, owners, out, timeout)
    _layouts(cfg, out)
    _warnings(cfg, repo_owners, image_owners, out)
    if out.problems:
        n = len(out.problems)
        out.say(f"{n} problem{'s' if n != 1 else ''}: an audit of this config would end partial")
    else:
        out.say("ok: every source can be read")
    for line in out.lines:
        typer.echo(line)
    return EXIT_PARTIAL if out.problems else EXIT_OK


def _repositories(cfg: Config, owners: Owners, out: Report) -> dict[str, str]:
    from hullcheck.policy.ownership import Subject

    found: dict[str, str] = {}
    rows, problems = [], []
    out.say()
    out.say(f"repositories ({len(cfg.git_repos)}):")
    for spec in cfg.git_repos:
        if spec.problem is not None:  # a glob's own failure row says the glob; a folder's says the folder
            problems.append(spec.problem if spec.name.startswith("path_glob:") else f"{spec.name}: {spec.problem}")
            continue
        subject = Subject(0, "repo", spec.name, repo=spec.name)
        owners.decide(subject, [])
        found[spec.name] = subject.team
        where = _local_path(spec.url)
        if where is not None and not where.exists():
            problems.append(f"{spec.name}: {spec.display_url}: no such repository on this machine")
            continue
        ref = f" ({spec.ref})" if spec.ref else ""
        how = subject.decided_by
        if subject.profile_by != f"team {subject.team}":  # said only when not simply the owner's profile
            how += f"; profile: {subject.profile_by}"
        rows.append([spec.name, spec.display_url + ref, subject.team, subject.profile, how])
    if rows:
        out.lines += _table(["NAME", "URL OR PATH", "TEAM", "PROFILE", "DECIDED BY"], rows)
    for p in problems:
        out.problem(p)
    later = []
    if any(t.codeowners for t in cfg.teams):
        later.append("CODEOWNERS rules may give files to other teams")
    if any(o.paths for o in cfg.overrides):
        later.append("overrides with `paths` decide files")
    if later:
        out.say(f"  decided at audit time: {'; '.join(later)} (they need the files of each repository)")
    return found


def _local_path(url: str) -> Path | None:
    if url.startswith("file://"):
        return Path(url.removeprefix("file://"))
    if "://" in url or url.startswith("git@") or (":" in url.split("/", 1)[0] and not url.startswith("/")):
        return None  # a remote: contacted by the audit, not here
    return Path(url)


def _registries(cfg: Config, owners: Owners, out: Report, timeout: float) -> dict[str, str] | None:
    """Owners of the images the config names exactly (None when some source's images are only known by a crawl)."""
    from hullcheck.policy.ownership import Subject
    from hullcheck.policy.situations import UNOWNED
    from hullcheck.sources.registry import registry_host

    images: dict[str, str] | None = {} if not cfg.layouts else None
    if not cfg.registries:
        return images
    out.say()
    out.say(f"registries ({len(cfg.registries)}):")
    for src in cfg.registries:
        host = registry_host(src.host)
        answered, auth = _probe(src, host, timeout, out)
        found = _credentials(src, host, out)
        if auth == "basic" and not found:
            out.problem(f"{src.host}: the registry requires a login (Basic) and no credentials were found", "    ")
        exact = [r for r in src.repositories if not any(c in r for c in "*?[")]
        if len(exact) != len(src.repositories) or not src.repositories:
            images = None  # globs and catalogs are resolved by the crawl
        if answered:
            _repositories_of(src, exact, timeout, out)
        for name in exact:
            subject = Subject(0, "image", f"{host}/{name}", registry=host, repository=name, tag="")
            owners.decide(subject, [])
            if images is not None:
                images[f"{host}/{name}"] = subject.team
            owner = subject.decided_by if subject.team == UNOWNED else f"team {subject.team} ({subject.decided_by})"
            out.say(f"    owner of {shown(name)}: {shown(owner)}")
    out.say("  decided at audit time: image labels (org.hullcheck.team, org.hullcheck.profile), lineage, and the "
            "owners of images found by a catalog or a glob")  # fmt: skip
    return images


def _probe(src: RegistrySource, host: str, timeout: float, out: Report) -> tuple[bool, str]:
    """One GET /v2/ (no retry): whether the registry answers (the audit could go on), and its auth scheme."""
    import requests

    from hullcheck.sources.http_failures import describe
    from hullcheck.sources.registry import LOOPBACK
    from hullcheck.sources.registry_auth import parse_challenge

    plain = src.host.startswith(LOOPBACK) if src.insecure is None else src.insecure
    scheme = "http" if plain else "https"
    head = f"  {shown(src.host)} ({'plain HTTP' if plain else 'HTTPS'})"
    try:
        r = requests.get(f"{scheme}://{host}/v2/", timeout=(timeout, timeout), allow_redirects=False,
                         headers={"User-Agent": "hullcheck config check"})  # fmt: skip
    except requests.RequestException as e:
        words = describe(e, timeout)
        hint = ""
        if "TLS" in words and not plain and _answers(f"http://{host}/v2/", timeout):
            hint = " — it answers plain HTTP: set `insecure: true` if that is intended"
        state = {"the connection was refused": "refused", "the TLS handshake failed": "TLS error",
                 "the host name could not be resolved": "unknown host"}.get(words, "unreachable")  # fmt: skip
        out.say(f"{head}: {state}")
        out.problem(f"{src.host}: {state}: {words}{hint}", "    ")
        return False, ""
    with r:
        if r.status_code == 200:
            out.say(f"{head}: reachable (anonymous access)")
            return True, ""
        if r.status_code == 401:
            challenge = parse_challenge(r.headers.get("WWW-Authenticate", ""))
            auth = challenge.scheme if challenge else ""
            out.say(f"{head}: reachable, auth required ({auth.capitalize() or 'no challenge'})")
            return True, auth
        if r.status_code == 400 and plain:
            out.say(f"{head}: answered HTTP 400")
            out.problem(f"{src.host}: answered HTTP 400 to plain HTTP: it may speak HTTPS (set `insecure: false`)",
                        "    ")  # fmt: skip
            return False, ""
        out.say(f"{head}: answered HTTP {r.status_code} on /v2/")
        out.problem(f"{src.host}: answered HTTP {r.status_code} on /v2/: not an OCI registry API there?", "    ")
        return False, ""


def _answers(url: str, timeout: float) -> bool:
    import requests

    try:
        with requests.get(url, timeout=(timeout, timeout), allow_redirects=False, stream=True):
            return True
    except requests.RequestException:
        return False


def _credentials(src: RegistrySource, host: str, out: Report) -> bool:
    """Where the credentials come from and whether they are there (True: found); never a secret, nor a user."""
    from hullcheck.errors import CredentialError
    from hullcheck.sources.registry_auth import find_credentials

    if src.credentials is not None:
        names = (src.credentials.username_env, src.credentials.password_env)
        unset = [n for n in names if n not in os.environ]
        if unset:
            out.problem(f"{src.host}: credentials are configured from ${names[0]} and ${names[1]}; not set: "
                        + ", ".join(f"${n}" for n in unset), "    ")  # fmt: skip
            return False
        out.say(f"    credentials: from ${names[0]} and ${names[1]} (both set)")
        return True
    try:
        found = find_credentials(host)
    except CredentialError as e:
        out.problem(f"{src.host}: {e}", "    ")
        return False
    if found is None:
        out.say("    credentials: none configured, none in the Docker config (anonymous)")
        return False
    origin = getattr(found, "origin", "") or "the Docker config"
    out.say(f"    credentials: found ({shown(origin)})")
    return True


def _configured(src: RegistrySource) -> Credentials | None:
    """The credentials the config names, when their variables are set (else the client looks as the audit does)."""
    from hullcheck.sources.registry_auth import Credentials

    if src.credentials is None:
        return None
    user, password = os.environ.get(src.credentials.username_env), os.environ.get(src.credentials.password_env)
    return Credentials(user, password) if user is not None and password is not None else None


def _repositories_of(src: RegistrySource, exact: list[str], timeout: float, out: Report) -> None:
    """The names the config spells out, looked up (a 404 is a typo); globs matched against the catalog."""
    from hullcheck.errors import RegistryError, RegistryNotFound
    from hullcheck.sources.registry import RegistryClient

    try:
        client = RegistryClient(src.host, insecure=src.insecure, credentials=_configured(src),
                                timeout=(timeout, timeout), retries=0)  # fmt: skip
    except RegistryError as e:
        out.problem(str(e), "    ")
        return
    try:
        globs = [g for g in src.repositories if g not in exact]
        if globs or not src.repositories:
            try:
                catalog = client.catalog()
            except RegistryError as e:
                out.problem(f"{src.host}: cannot read the catalog: {e}", "    ")
                catalog = None
            if catalog is not None and not src.repositories:
                out.say(f"    repositories: the whole catalog ({len(catalog)} listed)")
            for g in globs if catalog is not None else []:
                n = sum(1 for r in catalog or [] if fnmatch.fnmatchcase(r, g))
                if n:
                    out.say(f"    repositories glob {g!r}: {n} in the catalog")
                else:
                    out.problem(f"{src.host}: repositories glob {g!r} matches no repository of the catalog", "    ")
        for name in exact[:MAX_NAMES_CHECKED]:
            try:
                tags = client.ls(name)
            except RegistryNotFound:
                out.problem(f"{src.host}: {name}: the repository does not exist in that registry", "    ")
                continue
            except RegistryError as e:
                out.problem(f"{src.host}: {name}: {e}", "    ")
                continue
            out.say(f"    repository {shown(name)}: exists ({len(tags)} tags)")
        if len(exact) > MAX_NAMES_CHECKED:
            out.say(f"    ({len(exact) - MAX_NAMES_CHECKED} more names not looked up)")
    finally:
        client.close()


def _layouts(cfg: Config, out: Report) -> None:
    specs = cfg.layout_specs
    if not specs:
        return
    out.say()
    out.say(f"layouts ({len(specs)}):")
    for spec in specs:
        if spec.problem is not None:
            out.problem(spec.problem)
        elif spec.path.is_dir():
            out.say(f"  {shown(spec.path)}: a directory")
        elif spec.path.is_file():
            out.say(f"  {shown(spec.path)}: a file ({spec.path.stat().st_size} bytes)")
        else:
            out.problem(f"{spec.path}: no such file or directory")


def _warnings(cfg: Config, repos: dict[str, str], images: dict[str, str] | None, out: Report) -> None:
    from hullcheck.policy.coverage import coverage_warnings

    codeowners = any(t.codeowners for t in cfg.teams)
    note = " (unless CODEOWNERS gives their files to a team at audit time)" if codeowners else ""
    warnings = coverage_warnings(cfg.teams, repos, images, scope="configured", unowned_note=note)
    if not warnings:
        return
    out.say()
    out.say("warnings:")
    out.lines += [f"  warning: {shown(w)}" for w in warnings]


def _table(headers: Sequence[str], rows: list[list[str]]) -> list[str]:
    cells = [list(headers)] + [[shown(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers) - 1)]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1] for r in cells]
