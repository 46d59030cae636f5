"""The Compose loader piece by piece: interpolation, .env, merge rules, extends/include chains, bombs."""

from __future__ import annotations

import time

import pytest

from hullcheck.extract.compose.interpolate import InterpolationError, interpolate, parse_dotenv
from hullcheck.extract.compose.load import load_compose_project
from hullcheck.extract.compose.rows import ComposeFacts

ENV = {"SET": "value", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected", "unset"),
    [
        ("$SET", "value", set()),
        ("${SET}", "value", set()),
        ("${SET:-d}/${EMPTY:-d}/${NOPE:-d}", "value/d/d", set()),
        ("${SET-d}/${EMPTY-d}/${NOPE-d}", "value//d", set()),
        ("${SET:+a}/${EMPTY:+a}/${NOPE:+a}", "a//", set()),
        ("${SET+a}/${EMPTY+a}/${NOPE+a}", "a/a/", set()),
        ("${SET:?boom}", "value", set()),
        ("${EMPTY?boom}", "", set()),
        ("$$SET and $${SET}", "$SET and ${SET}", set()),
        ("${NOPE:-${SET}}", "value", set()),
        ("${NOPE:-${ALSO_NOPE:-deep}}", "deep", set()),
        ("a $NOPE b", "a  b", {"NOPE"}),
        ("price: 5$", "price: 5$", set()),
    ],
)
def test_interpolation_forms(text: str, expected: str, unset: set[str]) -> None:
    seen: set[str] = set()
    assert interpolate(text, ENV, seen) == expected
    assert seen == unset


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${NOPE:?please set NOPE}", "required variable NOPE: please set NOPE"),
        ("${EMPTY:?}", "missing a value"),
        ("${NOPE?}", "is not set"),
        ("${unclosed", "unclosed"),
    ],
)
def test_required_variables_and_bad_syntax_are_errors(text: str, message: str) -> None:
    with pytest.raises(InterpolationError, match=message):
        interpolate(text, ENV, set())


def test_dotenv_forms() -> None:
    env = parse_dotenv(
        b"# comment\nexport A=1\nB = two words  # trailing comment\nC='single $A'\nD=\"double ${A}\\nline\"\n"
        b'E=${A}-x\nBARE\nF="multi\nline"\n'
    )
    assert env == {"A": "1", "B": "two words", "C": "single $A", "D": "double 1\nline", "E": "1-x", "F": "multi\nline"}


def _load(files: dict[str, str], project_dir: str = "", compose_files: list[str] | None = None) -> ComposeFacts:
    data = {k: v.encode() for k, v in files.items()}
    return load_compose_project(data.get, project_dir, compose_files)


def _svc(facts: ComposeFacts, name: str) -> object:
    assert facts.project.error is None, facts.project.error
    return next(s for s in facts.services if s.service == name)


def test_override_merge_rules() -> None:
    facts = _load(
        {
            "compose.yaml": (
                "services:\n  web:\n    image: a\n    command: [run, one]\n    ports: ['80:80']\n"
                "    volumes: ['./a:/data', 'logs:/logs']\n    environment: {A: '1', B: '1'}\n"
                "    depends_on: [db]\n    cap_add: [NET_ADMIN]\n    build: {context: ., args: {X: '1'}}\n"
                "  db:\n    image: postgres\n"
            ),
            "compose.override.yaml": (
                "services:\n  web:\n    image: b\n    command: [run, two]\n    ports: ['80:80', '443:443']\n"
                "    volumes: ['./b:/data']\n    environment: [B=2, C=3]\n"
                "    depends_on: {db: {condition: service_healthy}}\n    cap_add: [NET_ADMIN, SYS_TIME]\n"
                "    build: {target: prod}\n"
            ),
        }
    )
    web = _svc(facts, "web")
    assert facts.project.files == ["compose.yaml", "compose.override.yaml"]
    assert web.image == "b"  # scalars: the override wins
    assert [(p.published, p.target) for p in web.ports] == [("80", 80), ("443", 443)]  # appended without duplicates
    assert [(v.source, v.target) for v in web.volumes] == [("b", "/data"), ("logs", "/logs")]  # merged by target
    assert {e.key: e.value for e in web.environment} == {"A": "1", "B": "2", "C": "3"}  # merged by key
    assert [(d.service, d.condition) for d in web.depends_on] == [("db", "service_healthy")]
    assert web.cap_add == ["NET_ADMIN", "SYS_TIME"]
    assert (web.build_context, web.build_target, web.build_args) == (".", "prod", ["X"])  # mappings merge


def test_reset_and_override_tags() -> None:
    facts = _load(
        {
            "compose.yaml": "services:\n  web:\n    image: a\n    ports: ['80:80']\n"
            "    environment: {A: '1', B: '1'}\n",
            "compose.override.yaml": "services:\n  web:\n    ports: !reset []\n    environment: !override {C: '3'}\n",
        }
    )
    web = _svc(facts, "web")
    assert web.ports == [] and [e.key for e in web.environment] == ["C"]


def test_extends_same_file_other_file_and_chained() -> None:
    facts = _load(
        {
            "compose.yaml": (
                "services:\n  base:\n    image: base\n    environment: {LEVEL: base}\n"
                "  mid:\n    extends: base\n    environment: {LEVEL: mid, MID: '1'}\n"
                "  top:\n    extends: {service: mid}\n    user: app\n"
                "  remote:\n    extends: {file: common/services.yml, service: worker}\n"
            ),
            "common/services.yml": "services:\n  worker:\n    build: ./worker\n    restart: always\n",
        }
    )
    top, remote = _svc(facts, "top"), _svc(facts, "remote")
    assert (top.image, top.user) == ("base", "app")
    assert {e.key: e.value for e in top.environment} == {"LEVEL": "mid", "MID": "1"}
    assert (remote.build_context, remote.build_dockerfile, remote.restart) == (
        "common/worker",
        "common/worker/Dockerfile",
        "always",  # paths relative to the extended file
    )
    assert facts.project.included_files == ["common/services.yml"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"compose.yaml": "services:\n  a:\n    extends: b\n  b:\n    extends: a\n"}, "circular extends"),
        (
            {"compose.yaml": "include: [x.yml]\nservices: {}\n", "x.yml": "include: [compose.yaml]\nservices: {}\n"},
            "include cycle",
        ),
        (
            {
                "compose.yaml": "services:\n  a:\n    extends: {file: x.yml, service: b}\n",
                "x.yml": "services:\n  b:\n    extends: {file: compose.yaml, service: a}\n",
            },
            "circular extends",
        ),
    ],
)
def test_cycles_are_clear_errors(files: dict[str, str], message: str) -> None:
    facts = _load(files)
    assert facts.project.error is not None and message in facts.project.error and facts.services == []


def test_include_with_its_own_directory_and_env() -> None:
    facts = _load(
        {
            "compose.yaml": "include:\n  - path: db/compose.yaml\n"
            "services:\n  app:\n    image: app\n    depends_on: [db]\n",
            "db/compose.yaml": "services:\n  db:\n    image: postgres:${PG}\n"
            "    volumes: ['./data:/var/lib/postgresql']\n",
            "db/.env": "PG=16\n",
        }
    )
    db = _svc(facts, "db")
    assert db.image == "postgres:16" and db.volumes[0].source == "db/data"


def test_alias_bomb_is_refused_quickly() -> None:
    lol = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        lol.append(f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [{', '.join(['*' + prev] * 9)}]")
    bomb = "x-bomb:\n" + "\n".join("  " + line for line in lol) + "\nservices:\n  s:\n    image: x\n    labels: *i\n"
    started = time.process_time()
    facts = _load({"compose.yaml": bomb})
    assert facts.project.error is not None and "alias bomb" in facts.project.error
    assert time.process_time() - started < 5  # bounded CPU, not a timing assertion on a benchmark


def test_absurd_nesting_is_refused() -> None:
    deep = "services:\n  s:\n    image: x\n    labels: " + "[" * 200 + "]" * 200 + "\n"
    facts = _load({"compose.yaml": deep})
    assert facts.project.error is not None and "nesting" in facts.project.error


def test_unresolved_variables_are_warnings_not_errors() -> None:
    facts = _load({"compose.yaml": "services:\n  s:\n    image: app:${TAG}\n"})
    assert _svc(facts, "s").image == "app:"
    assert facts.project.warnings == ["compose.yaml: variable TAG is not set; an empty string was substituted"]


def test_the_machine_environment_is_never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAG", "from-the-auditing-machine")
    facts = _load({"compose.yaml": "services:\n  s:\n    image: app:${TAG:-default}\n"})
    assert _svc(facts, "s").image == "app:default"


def test_secret_values_are_redacted_and_env_files_read() -> None:
    facts = _load(
        {
            "compose.yaml": "services:\n  s:\n    image: x\n    env_file: [app.env]\n"
            "    environment: [DB_PASSWORD=hunter2]\n",
            "app.env": "API_TOKEN=abc123\nPLAIN=ok\n",
        }
    )
    env = {e.key: (e.value, e.redacted) for e in _svc(facts, "s").environment}
    assert env == {"API_TOKEN": ("<redacted>", True), "PLAIN": ("ok", False), "DB_PASSWORD": ("<redacted>", True)}
    assert "hunter2" not in repr(facts) and "abc123" not in repr(facts)


SERVICE = "services:\n  app:\n    image: alpine\n"


@pytest.mark.parametrize(
    ("compose", "error"),
    [
        (SERVICE + "    ports: [{target: .nan}]\n", "services.app.ports must be a list of ports"),
        (SERVICE + "    ports: 8080\n", "services.app.ports must be a list of ports"),
        (
            SERVICE + "    deploy: {resources: {limits: {memory: 1e400}}}\n",
            "services.app.deploy.resources.limits.memory",
        ),
        (SERVICE + "    deploy: {resources: {limits: {cpus: {a: 1}}}}\n", "limits.cpus must be a finite number"),
        (SERVICE + "    deploy: {resources: {limits: {cpus: .inf}}}\n", "limits.cpus must be a finite number"),
        (SERVICE + "    deploy: [1]\n", "services.app.deploy must be a mapping"),
        (SERVICE + "    cap_add: 5\n", "services.app.cap_add must be a list"),
        (SERVICE + "    extends: [1]\n", "services.app.extends must be a service name or a mapping"),
        (SERVICE + "    extends: {service: [x]}\n", "services.app.extends: service and file must be strings"),
        ("include: 5\n" + SERVICE, "include must be a list"),
        ("include: [1]\n" + SERVICE, "an include entry must be a path or a mapping"),
        ("include: [{path: [1]}]\n" + SERVICE, "include path must be a path or a list of paths"),
        ("include: [{path: a.yaml, env_file: {x: 1}}]\n" + SERVICE, "include env_file must be a path"),
        (SERVICE + "secrets: [1]\n", "secrets must be a mapping"),
        ("services:\n  app:\n    image: x\x85\ufffe\n", "invalid YAML: character U+FFFE at position"),
    ],
)
def test_a_value_of_the_wrong_type_is_an_error_naming_the_field(compose: str, error: str) -> None:
    facts = load_compose_project(lambda p: compose.encode() if p == "compose.yaml" else None, "", None)
    assert facts.project.error is not None and error in facts.project.error, facts.project.error
    assert "unexpected type or form" not in facts.project.error


def test_file_sets_of_makefiles_scripts_and_ci() -> None:
    from hullcheck.extract.compose.filesets import FileSet, file_sets

    repo = {"compose.yaml", "compose.prod.yaml", "ops/a.yml", "ops/b.yml", "compose.test.yaml"}
    exists = repo.__contains__
    makefile = (
        b"BASE = -f compose.yaml\nPROD ?= $(BASE) -f compose.prod.yaml\n"
        b"up:\n\tdocker compose $(PROD) up\nci:\n\tdocker compose -f $(UNKNOWN) up\n"
    )
    assert file_sets("Makefile", makefile, False, exists) == [
        FileSet("Makefile", 4, "", ("compose.yaml", "compose.prod.yaml"))  # an unexpanded variable is no set
    ]
    script = b"#!/bin/sh\ncd ../ops && docker-compose --file a.yml --file=b.yml up\n"
    assert file_sets("scripts/up.sh", script, False, exists) == [
        FileSet("scripts/up.sh", 2, "ops", ("ops/a.yml", "ops/b.yml"))
    ]
    from_root = b"docker compose -f compose.yaml -f compose.test.yaml run tests\n"  # run from the repository root
    assert file_sets("scripts/t.sh", from_root, False, exists)[0].files == ("compose.yaml", "compose.test.yaml")
    ci = b"variables:\n  COMPOSE_PATH_SEPARATOR: ','\n  COMPOSE_FILE: ops/a.yml,ops/b.yml\n"
    assert file_sets(".gitlab-ci.yml", ci, True, exists) == [
        FileSet(".gitlab-ci.yml", 3, "ops", ("ops/a.yml", "ops/b.yml"))
    ]
    exported = b"export COMPOSE_FILE=compose.yaml:compose.prod.yaml\nCOMPOSE_FILE=ops/a.yml make up\n"
    assert [s.files for s in file_sets("run.sh", exported, False, exists)] == [
        ("compose.yaml", "compose.prod.yaml"),
        ("ops/a.yml",),
    ]
    assert (
        file_sets("x.sh", b"docker compose -f /etc/c.yml -f - up\ndocker compose -f gen.yml up\n", False, exists) == []
    )


def test_project_names_and_consistency() -> None:
    from hullcheck.extract.compose.consistency import consistency_error, normalize_name

    assert normalize_name(".devcontainer") == "devcontainer"
    assert normalize_name("UNNORMALIZED PATH") == "unnormalizedpath"
    assert normalize_name("_My-App.v2") == "my-appv2"
    services = {"a": {"image": "x", "depends_on": ["b"]}, "b": {"image": "x", "network_mode": "service:a"}}
    assert consistency_error(services, set()) == "dependency cycle detected: a -> b -> a"
    assert consistency_error({"f": {"profiles": ["p"]}}, set()) is None  # inactive: not checked, as Compose
    assert "neither an image nor a build" in str(consistency_error({"f": {"profiles": ["p"]}}, {"p"}))
