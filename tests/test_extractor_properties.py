"""Property-based: whatever bytes or JSON shapes come in, nothing but a typed error leaves an extractor.

Image metadata: `parse_manifest` / `parse_config` / a layout's `index.json` either return facts or
raise `ImageFormatError` / `RegistryError` (which the crawl turns into an error row). Dockerfiles
and Compose files: the extractor never raises; a broken file is a fact (`parse_error`, `error`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hullcheck.errors import RegistryError
from hullcheck.extract.commit import extract_files
from hullcheck.extract.dockerfile.parse import extract_dockerfile
from hullcheck.extract.image.manifest import ImageFormatError, parse_config, parse_manifest

DIGEST = "sha256:" + "a" * 64
KEYS = ["mediaType", "manifests", "config", "layers", "annotations", "platform", "digest", "size", "os",
        "architecture", "variant", "history", "created_by", "empty_layer", "Env", "Cmd", "Entrypoint", "Labels",
        "ExposedPorts", "Volumes", "Healthcheck", "Test", "rootfs", "diff_ids", "schemaVersion", "User"]  # fmt: skip
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False),
    st.text(max_size=20), st.sampled_from([DIGEST, "sha256:../../x", "application/vnd.oci.image.index.v1+json"]),
)  # fmt: skip
# JSON whose objects use the keys image metadata has, with values of any shape.
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=6)
    ),
    max_leaves=30,
)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW_FIXTURE = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


def _facts_or_error(error: type[Exception], fn: Any) -> None:
    """`fn()` returns, or raises `error` with a message for a person; anything else fails the test."""
    try:
        fn()
    except error as e:
        assert str(e).strip(), f"{type(e).__name__} without a message"


@FAST
@given(json_values)
def test_image_metadata_of_any_shape_is_facts_or_an_image_format_error(doc: Any) -> None:
    data = json.dumps(doc).encode()
    for parse in (lambda: parse_manifest(data, DIGEST), lambda: parse_config(data, DIGEST)):
        _facts_or_error(ImageFormatError, parse)


@FAST
@given(st.binary(max_size=2000))
def test_image_metadata_of_any_bytes_is_facts_or_an_image_format_error(data: bytes) -> None:
    for parse in (lambda: parse_manifest(data, DIGEST), lambda: parse_config(data, DIGEST)):
        _facts_or_error(ImageFormatError, parse)


@SLOW_FIXTURE
@given(json_values)
def test_a_layout_index_of_any_shape_is_a_layout_or_a_registry_error(tmp_path: Path, doc: Any) -> None:
    from hullcheck.sources.layout import LayoutSource

    root = tmp_path / "layout"
    root.mkdir(exist_ok=True)
    (root / "index.json").write_text(json.dumps(doc))
    _facts_or_error(RegistryError, lambda: LayoutSource(root).close())


dockerfile_text = st.lists(
    st.one_of(
        st.sampled_from(["FROM ", "ARG ", "ENV ", "RUN ", "COPY ", "USER ", "ONBUILD ", "HEALTHCHECK ", "# syntax=",
                         "# escape=`", "<<EOF", "EOF", "\\", "${", "}", "AS ", "--from=", "\n", " ", "=", ":-"]),
        st.text(max_size=8),
    ),
    max_size=40,
).map("".join)  # fmt: skip


@FAST
@given(st.one_of(st.binary(max_size=1500), dockerfile_text.map(lambda s: s.encode("utf-8", "surrogatepass"))))
def test_a_dockerfile_of_any_bytes_is_facts(data: bytes) -> None:
    facts = extract_dockerfile(data)
    assert facts.file is not None


compose_text = st.lists(
    st.one_of(
        st.sampled_from(["services:\n", "  a:\n", "    image: ", "    build: ", "    extends: ", "include:\n",
                         "  - ", "${X:-", "}", "&a ", "*a", "<<: ", "!reset ", "null", "\n", "    ports: [",
                         "]", "    environment:\n", "      K: ", "profiles:", "x-", "{", ":"]),
        st.text(max_size=6),
    ),
    max_size=40,
).map("".join)  # fmt: skip


@FAST
@given(st.one_of(st.binary(max_size=1500), compose_text.map(lambda s: s.encode("utf-8", "surrogatepass"))))
def test_a_compose_file_of_any_bytes_is_facts(data: bytes) -> None:
    rows = extract_files({"compose.yaml": data, ".env": b"X=1\n"})
    assert [f.path for f in rows.files if f.kind == "compose"] == ["compose.yaml"]
