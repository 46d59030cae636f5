"""Safe YAML for Compose files: anchors and merge keys, `!reset` / `!override`, and limits.

PyYAML shares aliased nodes instead of copying them, so a "billion laughs" document
costs little to parse but explodes in any walk over it (interpolation, merging). Its
expanded size and nesting depth are therefore measured on the node graph, with
memoisation, before anything is built; past the limits the file is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from hullcheck.errors import ExtractError

MAX_EXPANDED_NODES = 200_000
MAX_DEPTH = 64


class ComposeYamlError(ExtractError):
    pass


@dataclass(frozen=True, slots=True)
class Reset:
    """`!reset`: remove the value inherited from earlier files or `extends`."""

    value: Any


@dataclass(frozen=True, slots=True)
class Override:
    """`!override`: replace the inherited value instead of merging with it."""

    value: Any


class _Rules(yaml.constructor.SafeConstructor):
    """Compose's rules on top of either PyYAML parser: merge keys, YAML 1.2 scalars, `!reset`/`!override`."""

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        """Merge keys as YAML 1.1 (and Compose) define them: the mapping's own keys win, then the
        merged mappings in the order listed (`<<: [*a, *b]`: a's keys over b's). PyYAML lets the
        last listed win, which is not what Compose does."""
        own, sources = [], []
        for key_node, value_node in node.value:
            if key_node.tag != "tag:yaml.org,2002:merge":
                own.append((key_node, value_node))
                continue
            subnodes = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for sub in subnodes:
                if not isinstance(sub, yaml.MappingNode):
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"expected a mapping for merging, but found {sub.id}",
                        sub.start_mark,
                    )
                self.flatten_mapping(sub)
                sources.append(sub)
        if sources:
            # A key reset next to a merge key drops the reset itself: the merged value stays (compose-go).
            merged_keys = {k.value for sub in sources for k, _ in sub.value if isinstance(k, yaml.ScalarNode)}
            own = [(k, v) for k, v in own if not (v.tag == "!reset" and getattr(k, "value", None) in merged_keys)]
        seen = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        merged = []
        for sub in sources:
            for k, v in sub.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else id(k)
                if key not in seen:
                    seen.add(key)
                    merged.append((k, v))
        node.value = merged + own


def _tagged(cls: type) -> Any:
    def construct(loader: _Rules, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return cls(loader.construct_mapping(node, deep=True))
        if isinstance(node, yaml.SequenceNode):
            return cls(loader.construct_sequence(node, deep=True))
        return cls(loader.construct_scalar(node) or None)  # type: ignore[arg-type]

    return construct


class _Loader(_Rules, yaml.CSafeLoader):
    """libyaml's parser (PyYAML's wheels ship it): the pure-Python one took 3.8 s on a file of 30,000
    services, 1.6 s this way. Only the parser is C; construction and resolution stay Python (ours)."""


class _PyLoader(_Rules, yaml.SafeLoader):
    """PyYAML's own parser, for a file with a surrogate escape (`"\\ud800"`): an error for libyaml, a
    value PyYAML reads and the writer repairs, as before. Not a fallback on every libyaml error: a
    refused 100,000-deep flow sequence would then cost PyYAML's 40 s on top."""


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


for _cls in (_Loader, _PyLoader):
    # Compose reads YAML 1.2: `2222:22` is a string (not base-60) and `yes`/`on` are strings (not booleans).
    _cls.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (
            "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }  # fmt: skip
    _cls.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    _cls.add_implicit_resolver(
        "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
    )
    _cls.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        list("-+0123456789."),
    )
    _cls.add_constructor("!reset", _tagged(Reset))
    _cls.add_constructor("!override", _tagged(Override))


def _measure(root: yaml.Node) -> None:
    memo: dict[int, int] = {}

    def weight(node: yaml.Node, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise ComposeYamlError(f"nesting deeper than {MAX_DEPTH} levels (line {node.start_mark.line + 1})")
        key = id(node)
        if key in memo:
            return memo[key]
        total = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += weight(k, depth + 1) + weight(v, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += weight(item, depth + 1)
        if total > MAX_EXPANDED_NODES:
            raise ComposeYamlError(f"refused: aliases expand to more than {MAX_EXPANDED_NODES} nodes (an alias bomb?)")
        memo[key] = total
        return total

    weight(root, 0)


def load_yaml(data: bytes, name: str) -> Any:
    """The document of a Compose file, or ComposeYamlError with a message that names the file."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ComposeYamlError(f"{name}: not UTF-8 text (byte {e.start})") from None
    try:
        return _load(_PyLoader if _SURROGATE_ESCAPE.search(text) else _Loader, text)
    except ComposeYamlError as e:
        raise ComposeYamlError(f"{name}: {e}") from None
    except yaml.reader.ReaderError as e:
        raise ComposeYamlError(_unacceptable(name, e)) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        raise ComposeYamlError(f"{where}: invalid YAML: {getattr(e, 'problem', None) or e}") from None
    except RecursionError:
        raise ComposeYamlError(f"{name}: nesting too deep") from None


def _load(cls: type[_Loader] | type[_PyLoader], text: str) -> Any:
    loader = cls(text)  # the pure-Python reader refuses control characters here already
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _unacceptable(name: str, e: yaml.reader.ReaderError) -> str:
    char = e.character if isinstance(e.character, int) else ord(e.character) if e.character else 0
    return f"{name}: invalid YAML: character U+{char:04X} at position {e.position} is not allowed in YAML"
