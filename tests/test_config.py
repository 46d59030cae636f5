"""The org config: the example in the repo loads, and every mistake names file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hullcheck.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[1]


def test_the_example_config_is_valid() -> None:
    cfg = load_config(ROOT / "hullcheck.yaml")
    assert cfg.sources.git[0].url == "https://git.example.org/payments/api.git"
    assert cfg.sources.git[0].ref == "main"
    assert cfg.teams[0].name == "payments" and cfg.teams[0].profile == "microservice"
    assert cfg.database_path == ROOT / "hullcheck.duckdb"  # relative to the config file


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sources:\n  git:\n    - url: a\n      reff: main\n", "cfg.yaml:4: sources.git[0].reff: unknown key"),
        ("sources:\n  git:\n    - url: a\n      path_glob: b\n", "cfg.yaml:3: sources.git[0]: give exactly one of"),
        ("teams:\n  - name: a\n    repos: 3\n", "cfg.yaml:3: teams[0].repos: Input should be a valid list"),
        ("teams:\n  - name: a\n  - name: a\n", "cfg.yaml:3: teams[1].name: team 'a' is defined twice (first at line 2"),
        ("concurrency: 0\n", "cfg.yaml:1: concurrency: Input should be greater than or equal to 1"),
        ("database: [\n", "cfg.yaml:2: not valid YAML"),
        ("- a\n- b\n", "cfg.yaml:1: the config must be a mapping"),
        ("sourcess: {}\n", "cfg.yaml:1: sourcess: unknown key"),
    ],
)
def test_errors_name_file_line_and_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, "cfg.yaml")
    assert expected in str(err.value)


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.yaml")


def test_a_minimal_config_has_sane_defaults() -> None:
    cfg = parse_config("database: h.duckdb\n", "minimal.yaml")  # an empty config is an error (test_config_cannot_lie)
    assert cfg.max_file_bytes == 1024 * 1024 and cfg.concurrency == 4 and cfg.sources.git == []


def test_registry_credentials_never_go_in_the_url() -> None:
    with pytest.raises(ConfigError, match="credentials do not belong in the URL"):
        parse_config("registries:\n  - url: https://bob:hunter2@registry.example.org\n", "cfg.yaml")


# -- profiles, team policies, overrides and waivers: checked against the catalog, errors name file and line --
def _situations(text: str):
    from hullcheck.policy.catalog import load_catalog
    from hullcheck.policy.situations import resolve_situations

    return resolve_situations(load_catalog(), parse_config(text, "org.yaml"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("teams:\n  - name: ml\n    profile: data-science\n",
         r"org\.yaml:3: teams\[0\]\.profile: unknown profile 'data-science' \(known: datascience, microservice"),
        ("teams:\n  - name: ml\n    policies:\n      image-size-budget: {max_bytes: huge}\n",
         r"org\.yaml:4: teams\[0\]\.policies\.image-size-budget: image-size-budget\.max_bytes: 'huge' is not a size"),
        ("teams:\n  - name: ml\n    policies:\n      image-size-budget: {max_byte: 1GB}\n",
         r"org\.yaml:4: .*has no parameter 'max_byte' \(it has: max_bytes, critical_factor, severity, enabled\)"),
        ("teams:\n  - name: ml\n    policies:\n      no-such-policy: {}\n",
         r"org\.yaml:4: teams\[0\]\.policies\.no-such-policy: unknown policy 'no-such-policy'"),
        ("overrides:\n  - repos: [x]\n    profile: nope\n",
         r"org\.yaml:3: overrides\[0\]\.profile: unknown profile 'nope'"),
        ("overrides:\n  - repos: [x]\n    team: ghosts\n", r"org\.yaml:3: overrides\[0\]\.team: unknown team 'ghosts'"),
        ("waivers:\n  - {policy: nope, subject: '*', reason: r, author: a, expires: 2026-12-31}\n",
         r"org\.yaml:2: waivers\[0\]\.policy: unknown policy 'nope'"),
        ("profiles:\n  batch:\n    extends: monolit\n",
         r"org\.yaml:3: profiles\.batch\.extends: unknown profile 'monolit'"),
        ("profiles:\n  batch:\n    policies:\n      root-user: {severity: loud}\n",
         r"org\.yaml:4: .*root-user\.severity: 'loud' is not a severity"),
    ],
)  # fmt: skip
def test_policy_settings_errors_name_file_line_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _situations(text)


def test_a_config_profile_extends_a_shipped_one_and_teams_override_it() -> None:
    s = _situations(
        "profiles:\n  batch:\n    extends: monolith\n    policies:\n      image-size-budget: {critical_factor: 3}\n"
        "teams:\n  - name: jobs\n    profile: batch\n    policies:\n      image-size-budget: {max_bytes: 2GB}\n"
    )
    from hullcheck.policy.situations import Situation

    eff = s.effective(s.catalog.get("image-size-budget"), Situation("jobs", "batch"))
    assert (eff.params["max_bytes"].value, eff.params["max_bytes"].source) == (2_000_000_000, "team")
    assert (eff.params["critical_factor"].value, eff.params["critical_factor"].source) == (3.0, "profile")
    assert eff.severity.source == "default"


def test_waivers_need_a_reason_an_author_and_an_expiry_within_the_maximum() -> None:
    with pytest.raises(ConfigError, match=r"waivers\[0\]\.expires: Field required"):
        parse_config("waivers:\n  - {policy: root-user, subject: '*', reason: r, author: a}\n", "org.yaml")
    with pytest.raises(ConfigError, match=r"waivers\[0\]\.reason: required: say who decided and why"):
        parse_config("waivers:\n  - {policy: root-user, subject: '*', reason: ' ', author: a, expires: 2027-01-01}\n")
    with pytest.raises(ConfigError, match=r"later than the maximum waiver length allows \(180 days"):
        parse_config("waivers:\n  - {policy: root-user, subject: '*', reason: r, author: a, expires: 2099-01-01}\n")
    ok = parse_config("max_waiver_days: 36500\nwaivers:\n  - {policy: root-user, subject: '*', reason: r, author: a, "
                      "expires: 2099-01-01}\n")  # fmt: skip
    assert ok.waivers[0].expires.year == 2099
