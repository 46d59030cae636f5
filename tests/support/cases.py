"""Named test cases in YAML files: the one loader of every case suite (tests/dockerfile_cases/, policies…).

A case file holds named cases, in either of two forms::

    # a mapping, name -> case                # a list, each case naming itself
    from_scratch:                            - name: from_scratch
      description: FROM scratch is legal       description: FROM scratch is legal
      dockerfile: FROM scratch                 dockerfile: FROM scratch

A case's `data` is what YAML gives for it (in the list form: the item without its `name`);
what a case must contain is for the test that reads it to check. Names are strings, unique in
their file (quote `yes`, `no`, `1.0`…: YAML would make them bools and numbers).

    load_cases(path) -> list[Case]   path: one .yaml/.yml file, or a directory of them (sorted by file name)
    params(path)     -> [pytest.param(case.data, id=case.id), ...], for @pytest.mark.parametrize

`Case.id` is "<file stem>::<name>" (e.g. "heredocs::two_heredocs"), unique over a whole load.
A file without cases, a directory without case files, or a malformed file raises `CaseError`
at collection: a green run must mean the cases ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

SUFFIXES = (".yaml", ".yml")


class CaseError(ValueError):
    """A case file (or directory) that cannot give named cases; the message names the file."""


@dataclass(frozen=True)
class Case:
    """One named case: `name` as written in `path`, `data` as YAML gave it."""

    name: str
    data: Any
    path: Path

    @property
    def id(self) -> str:
        """`<file stem>::<name>`: the pytest id, and how to find the case again."""
        return f"{self.path.stem}::{self.name}"


def case_files(path: str | Path) -> list[Path]:
    """`path` itself if it is a file, else the .yaml/.yml files directly in the directory, sorted."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise CaseError(f"{path}: no such case file or directory")
    files = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())
    if not files:
        raise CaseError(f"{path}: no case files (*.yaml, *.yml)")
    return files


def load_cases(path: str | Path) -> list[Case]:
    """Every case of a file, or of every case file in a directory, in file then written order."""
    cases = [case for file in case_files(path) for case in _read(file)]
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise CaseError(f"{case.path}: case id {case.id!r} is given twice")
        seen.add(case.id)
    return cases


def params(path: str | Path) -> list[Any]:
    """`pytest.param(case.data, id=case.id)` for every case of `load_cases(path)`."""
    return [pytest.param(case.data, id=case.id) for case in load_cases(path)]


def _read(path: Path) -> list[Case]:
    loader = yaml.SafeLoader(path.read_text(encoding="utf-8"))
    try:
        node = loader.get_single_node()
        if isinstance(node, yaml.MappingNode):
            keys = [key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode)]
            twice = sorted({key for key in keys if keys.count(key) > 1})
            if twice:  # YAML itself would keep the last one silently
                raise CaseError(f"{path}: case names given twice: {', '.join(twice)}")
        doc = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise CaseError(f"{path}: bad YAML: {exc}") from exc
    finally:
        loader.dispose()
    if isinstance(doc, dict):
        named = list(doc.items())
    elif isinstance(doc, list):
        named = []
        for i, item in enumerate(doc):
            if not isinstance(item, dict) or "name" not in item:
                raise CaseError(f"{path}: item {i} of the list is not a mapping with a `name`")
            named.append((item["name"], {k: v for k, v in item.items() if k != "name"}))
    elif doc is None:
        raise CaseError(f"{path}: no cases (the file is empty)")
    else:
        raise CaseError(f"{path}: want a mapping (name -> case) or a list of named cases, got {type(doc).__name__}")
    if not named:
        raise CaseError(f"{path}: no cases")
    cases = []
    for name, data in named:
        if not isinstance(name, str) or not name:
            raise CaseError(f"{path}: case name {name!r} is not a string (quote it)")
        cases.append(Case(name, data, path))
    return cases
