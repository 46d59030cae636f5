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
        ("teams:\n  - name: a\n  - name: a\n", "team 'a' is defined twice"),
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


def test_an_empty_config_has_sane_defaults() -> None:
    cfg = parse_config("", "empty.yaml")
    assert cfg.max_file_bytes == 1024 * 1024 and cfg.concurrency == 4 and cfg.sources.git == []


def test_registry_credentials_never_go_in_the_url() -> None:
    with pytest.raises(ConfigError, match="credentials do not belong in the URL"):
        parse_config("registries:\n  - url: https://bob:hunter2@registry.example.org\n", "cfg.yaml")
