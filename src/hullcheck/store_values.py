"""Every value is made storable before it is written: a hostile file cannot fail a batch, and
no secret an extractor missed reaches the database.

Text from repositories and images may hold what DuckDB refuses (a lone surrogate such as
`\\ud800` from a YAML escape, a Python-side decoding artefact), and numbers may be beyond a
column's range (a port of 2^40, a memory limit of `1e30`, a layer size of 10^20). One such
value used to fail a whole batch of other repositories' rows. Here each column gets a cleaner
built from its DuckDB type, once per table: text becomes valid UTF-8 (invalid code points
replaced by U+FFFD), an out-of-range or non-finite number becomes NULL, lists and structs are
cleaned element by element. Every text value also passes the redaction (`redact.redact_text`)
here, the one place all text columns go through: the extractors redact what they understand
(a value under a secret name), this catches a secret in any other text. `Repairs` counts what
was changed, per table and column (a redaction counted here is one an extractor missed).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from hullcheck.redact import SCREEN_PATTERN, might_hold_secret, redact_text

Cleaner = Callable[[Any], Any]
Repairs = Counter[str]  # "table.column: what" -> count

_INT_BITS = {"tinyint": 8, "smallint": 16, "integer": 32, "bigint": 64, "hugeint": 128}
_UINT_BITS = {"utinyint": 8, "usmallint": 16, "uinteger": 32, "ubigint": 64}


def redact_stored(s: str) -> str:
    """`s` with any secret in it redacted; most text is screened out first (`redact.SCREEN`)."""
    return redact_text(s) if might_hold_secret(s) else s


def clean_text(s: str) -> str:
    """`s` as valid UTF-8 text: surrogate pairs joined, lone surrogates replaced by U+FFFD."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def cleaner(typ: duckdb.typing.DuckDBPyType, where: str, repairs: Repairs) -> Cleaner | None:
    """A function making a value fit `typ` (None when every value fits as it is)."""
    kind = typ.id
    if str(typ) == "JSON":  # redacted leaf by leaf: a redaction must never break the document's syntax

        def document(v: str) -> tuple[str, Counter[str]]:
            found: Counter[str] = Counter()
            if not might_hold_secret(v) and "\\u" not in v.lower():
                return v, found  # nothing a redaction or a text repair would change: not parsed
            try:
                doc = json.loads(v)
            except ValueError:
                found[f"{where}: not JSON, stored as a string"] += 1
                return json.dumps(redact_stored(clean_text(v))), found
            fixed = json.dumps(_leaves(doc, where, found), ensure_ascii=False)
            return (fixed if fixed != json.dumps(doc, ensure_ascii=False) else v), found

        return _Memoized(document, repairs, "json")
    if kind == "varchar":

        def text(v: str) -> tuple[str, Counter[str]]:
            found: Counter[str] = Counter()
            fixed = clean_text(v)
            if fixed is not v:
                found[f"{where}: invalid text replaced"] += 1
            safe = redact_stored(fixed)
            if safe != fixed:
                found[f"{where}: secret redacted"] += 1
            return safe, found

        return _Memoized(text, repairs, "text")
    if kind in _INT_BITS or kind in _UINT_BITS:
        bits = _INT_BITS.get(kind) or _UINT_BITS[kind]
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if kind in _INT_BITS else (0, 2**bits - 1)

        def integer(v: Any) -> Any:
            if v is None:
                return v
            if isinstance(v, bool):  # what a cast to the column's type made of it
                return int(v)
            if isinstance(v, float):
                if not math.isfinite(v) or not low <= v <= high:
                    repairs[f"{where}: number out of range, stored as NULL"] += 1
                    return None
                return int(v)
            if isinstance(v, int) and not low <= v <= high:
                repairs[f"{where}: number out of range, stored as NULL"] += 1
                return None
            return v

        integer.kind = "integer"  # type: ignore[attr-defined]
        return integer
    if kind == "list":
        inner = cleaner(typ.children[0][1], where, repairs)
        if inner is None:
            return None

        def items(v: Any) -> Any:
            return clean_column(inner, v) if isinstance(v, list) else v

        return items
    if kind == "struct":
        fields = {name: cleaner(t, f"{where}.{name}", repairs) for name, t in typ.children}
        active = {k: f for k, f in fields.items() if f is not None}
        if not active:
            return None

        def struct(v: Any) -> Any:
            if isinstance(v, dict):
                return {k: (active[k](x) if k in active else x) for k, x in v.items()}
            return v

        return struct
    return None


_MEMO_SIZE = 4096  # per column: the repeats are few distinct values; a large memo only holds memory
_MEMO_MAX_LEN = 512  # long texts rarely repeat: cleaned, not remembered


class _Memoized:
    """A string cleaner that remembers: stored text repeats a lot (team names, situations, the parameter
    JSON of every finding of a policy), and the redaction screen is the writer's main cost. Each value
    repaired still counts once per row in `repairs`."""

    def __init__(self, fn: Callable[[str], tuple[str, Counter[str]]], repairs: Repairs, kind: str) -> None:
        self.fn, self.repairs, self.kind = fn, repairs, kind
        self.memo: dict[str, tuple[str, Counter[str]]] = {}

    def __call__(self, v: Any) -> Any:
        if v.__class__ is not str:
            return v
        hit = self.memo.get(v)
        if hit is None:
            if len(self.memo) >= _MEMO_SIZE:
                self.memo.clear()
            hit = self.fn(v)
            if len(v) <= _MEMO_MAX_LEN:
                self.memo[v] = hit
        if hit[1]:
            self.repairs.update(hit[1])
        return hit[0]

    def column(self, values: list[Any]) -> list[Any]:
        memo, fn, repairs = self.memo, self.fn, self.repairs
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        out = []
        append = out.append
        for v in values:
            if v.__class__ is not str:
                append(v)
                continue
            hit = memo.get(v)
            if hit is None:
                hit = fn(v)
                if len(v) <= _MEMO_MAX_LEN:
                    memo[v] = hit
            if hit[1]:
                repairs.update(hit[1])
            append(hit[0])
        return out


def clean_column(fn: Cleaner, values: list[Any]) -> list[Any]:
    """`fn` over a column of values (a memoized text cleaner does the whole column in one loop)."""
    if isinstance(fn, _Memoized):
        return fn.column(values)
    return [fn(v) for v in values]


_VECTOR_MIN = 256  # below this, a compute kernel's set-up (the expression compiled) costs more than the loop


def arrow_column(values: list[Any], typ: pa.DataType, fn: Cleaner | None) -> pa.Array:
    """`values` as an Arrow array of `typ`, made storable like `clean_column` would, but whole-column where
    it can: text is screened for secret hints by one regular expression over the array (only flagged values
    are redacted in Python), integers are range-checked by Arrow's own conversion; the per-value cleaners
    run only where the fast path refuses (invalid text, a number out of range)."""
    if fn is None:
        return pa.array(values, typ)
    kind = getattr(fn, "kind", None)
    if isinstance(fn, _Memoized) and len(values) >= _VECTOR_MIN:
        try:
            arr = pa.array(values, typ)
        except UnicodeEncodeError:  # a lone surrogate: the whole column goes the careful way
            return pa.array(fn.column(values), typ)
        pattern = SCREEN_PATTERN if kind == "text" else SCREEN_PATTERN + r"|\\u"
        flagged = pc.indices_nonzero(pc.fill_null(pc.match_substring_regex(arr, pattern, ignore_case=True), False))
        if len(flagged) == 0:
            return arr
        fixed = list(values)
        for i in flagged.to_pylist():
            fixed[i] = fn(fixed[i])
        return pa.array(fixed, typ)
    if kind == "integer":
        try:
            return pa.array(values, typ)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
    return pa.array(clean_column(fn, values), typ)


def _leaves(doc: Any, where: str, repairs: Repairs) -> Any:
    if isinstance(doc, str):
        safe = redact_stored(clean_text(doc))
        if safe != doc:
            repairs[f"{where}: secret redacted"] += 1
        return safe
    if isinstance(doc, list):
        return [_leaves(x, where, repairs) for x in doc]
    if isinstance(doc, dict):
        return {clean_text(str(k)): _leaves(x, where, repairs) for k, x in doc.items()}
    return doc


def table_cleaners(rel: duckdb.DuckDBPyRelation, table: str, repairs: Repairs) -> dict[str, Cleaner]:
    """A cleaner per column of the table `rel` reads (None-free: columns whose values all fit are left out)."""
    out = {}
    for name, typ in zip(rel.columns, rel.dtypes, strict=True):
        fn = cleaner(typ, f"{table}.{name}", repairs)
        if fn is not None:
            out[name] = fn
    return out
