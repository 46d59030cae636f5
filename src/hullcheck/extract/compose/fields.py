"""The run-time fields of a service (command, labels, logging, ulimits, healthcheck…), normalised as
`docker compose config` prints them, so that a query on a column means what Compose would run.

Free text a container receives (command words, labels, logging options, healthcheck tests) can
carry a credential (`--password=…`, a basic-auth label): it goes through `redact_value`/`redact_text`
like environment values.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from typing import Any

from hullcheck.errors import ExtractError
from hullcheck.extract.compose.merge import as_mapping
from hullcheck.extract.compose.rows import KeyValue, Ulimit
from hullcheck.redact import redact_argv, redact_text, redact_value

_UNITS = {"b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3, "t": 1024**4}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
# Compose's schema pattern for container_name: an empty or leading-dot name is refused.
CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


class ServiceFieldError(ExtractError):
    """A service field whose value has a type or form Compose refuses; the message names the field."""


def size_bytes(value: Any) -> int | None:
    """A size as Compose reads it (`512m`, `1gb`, a number of bytes); None when not set."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError("not a size")
    if isinstance(value, int | float):
        return int(value)  # OverflowError / ValueError on infinity and NaN: the caller names the field
    m = re.match(r"^\s*([\d.]+)\s*([a-zA-Z]*)\s*$", value)
    if not m or m.group(2).lower() not in {*_UNITS, ""}:
        raise ValueError("not a size")
    return int(float(m.group(1)) * _UNITS.get(m.group(2).lower(), 1))


def duration_seconds(value: Any) -> float | None:
    """A Go duration (`1m30s`, `500ms`, `1h2m`) in seconds, as Compose parses healthcheck times."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str):
        raise TypeError("not a duration")
    text = value.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    if text == "0":
        return 0.0
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise ValueError("not a duration")
    return sign * total


def command_words(value: Any) -> list[str] | None:
    """`command`/`entrypoint`: a list as written, a string split as a POSIX shell would (Compose does so)."""
    if value is None:
        return None
    if isinstance(value, str):
        words = shlex.split(value)
    elif isinstance(value, list):
        words = [_text(w) for w in value]
    else:
        raise TypeError("not a command")
    # As a Dockerfile's exec form: the word after a secret-named flag (`--token`, `x`) is redacted whole.
    return redact_argv(words)


def key_values(value: Any, key: str, redact: bool = True) -> list[KeyValue]:
    """Labels, sysctls, logging options: a mapping or a list of `k=v`; a bare `k` is `k` = '' as Compose prints."""
    if value is None:
        return []
    if not isinstance(value, dict | list):
        raise TypeError("not a mapping")
    out = []
    for k, v in as_mapping(value, key).items():
        text = "" if v is None else _text(v)
        out.append(KeyValue(str(k), redact_value(str(k), text)[0] if redact else text))
    return sorted(out, key=lambda kv: kv.key)


def ulimits(value: Any) -> list[Ulimit]:
    """`nofile: 1024` (soft = hard) or `nofile: {soft: 1024, hard: 2048}`, by name."""
    if value is None:
        return []
    if not isinstance(value, dict):
        raise TypeError("not a mapping")
    out = []
    for name, spec in value.items():
        if isinstance(spec, dict):
            out.append(Ulimit(str(name), _int(spec.get("soft")), _int(spec.get("hard"))))
        else:
            limit = _int(spec)
            out.append(Ulimit(str(name), limit, limit))
    return sorted(out, key=lambda u: u.name)


def healthcheck_test(value: Any) -> list[str] | None:
    """The test as Compose prints it: a string is `["CMD-SHELL", string]`."""
    if value is None:
        return None
    if isinstance(value, str):
        return ["CMD-SHELL", redact_text(value)]
    if isinstance(value, list):
        return redact_argv([_text(w) for w in value])
    raise TypeError("not a test")


def strings(value: Any) -> list[str]:
    """`expose`, `tmpfs`: a list (or one string), numbers as text."""
    if value is None:
        return []
    if isinstance(value, str | int):
        return [_text(value)]
    if not isinstance(value, list):
        raise TypeError("not a list")
    return [_text(x) for x in value]


def text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        raise TypeError("not a scalar")
    return str(value)


def _int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("not an integer")
    return int(value)


Field = Callable[[str, str, Callable[[], Any]], Any]


def runtime_fields(service: str, svc: dict[str, Any], field: Field) -> dict[str, Any]:
    """The run-time columns of a service row; `field(key, expected, convert)` names a bad value's field."""
    health = svc.get("healthcheck") if isinstance(svc.get("healthcheck"), dict) else {}
    logging = svc.get("logging")
    if logging is not None and not isinstance(logging, dict):
        raise TypeError("logging")  # the caller turns it into "services.x: a value has an unexpected type"
    logging = logging or {}
    name = field("container_name", "a name", lambda: text(svc.get("container_name")))
    if name is not None and not CONTAINER_NAME.match(name):  # Compose's own words (`${NAME}` unset: '')
        raise ServiceFieldError(
            f"services.{service}.container_name '{redact_text(name)}' "
            f"does not match pattern '{CONTAINER_NAME.pattern[1:-1]}'"
        )
    return {
        "command": field("command", "a command (a string or a list)", lambda: command_words(svc.get("command"))),
        "entrypoint": field(
            "entrypoint", "a command (a string or a list)", lambda: command_words(svc.get("entrypoint"))
        ),
        "container_name": name,
        "pull_policy": field("pull_policy", "a string", lambda: text(svc.get("pull_policy"))),
        "expose": field("expose", "a list of ports", lambda: strings(svc.get("expose"))),
        "hostname": field("hostname", "a string", lambda: text(svc.get("hostname"))),
        "logging_driver": field("logging.driver", "a string", lambda: text(logging.get("driver"))),
        "logging_options": field("logging.options", "a mapping", lambda: key_values(logging.get("options"), "options")),
        "read_only": bool(svc.get("read_only", False)),
        "tmpfs": field("tmpfs", "a path or a list of paths", lambda: strings(svc.get("tmpfs"))),
        "stop_signal": field("stop_signal", "a string", lambda: text(svc.get("stop_signal"))),
        "platform": field("platform", "a string", lambda: text(svc.get("platform"))),
        "runtime": field("runtime", "a string", lambda: text(svc.get("runtime"))),
        "labels": field("labels", "a mapping or a list of NAME=value", lambda: key_values(svc.get("labels"), "labels")),
        "sysctls": field(
            "sysctls", "a mapping or a list of NAME=value", lambda: key_values(svc.get("sysctls"), "sysctls", False)
        ),
        "shm_size": field(
            "shm_size", "a size (bytes, or a number and a unit: 64m)", lambda: size_bytes(svc.get("shm_size"))
        ),
        "ulimits": field("ulimits", "a mapping of limits", lambda: ulimits(svc.get("ulimits"))),
        "healthcheck_test": field("healthcheck.test", "a command", lambda: healthcheck_test(health.get("test"))),
        "healthcheck_interval_seconds": field(
            "healthcheck.interval", "a duration (30s, 1m30s)", lambda: duration_seconds(health.get("interval"))
        ),
        "healthcheck_timeout_seconds": field(
            "healthcheck.timeout", "a duration (30s, 1m30s)", lambda: duration_seconds(health.get("timeout"))
        ),
        "healthcheck_start_period_seconds": field(
            "healthcheck.start_period", "a duration (30s, 1m30s)", lambda: duration_seconds(health.get("start_period"))
        ),
        "healthcheck_retries": field("healthcheck.retries", "an integer", lambda: _int(health.get("retries"))),
    }
