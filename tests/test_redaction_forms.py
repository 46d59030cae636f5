"""Secret forms found by the hostile-input battery: each one is redacted, the text around it kept."""

from __future__ import annotations

import pytest

from hullcheck.extract.image.manifest import parse_config
from hullcheck.redact import MARKER, redact_argv, redact_text, redact_value

S = "hcCANARY5f3a9e"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"Server=db;Database=shop;Password={S};Encrypt=true", "Server=db;Database=shop;"),
        (f"jdbc:mysql://db/shop?user=app&password={S}&ssl=1", "jdbc:mysql://db/shop?user=app&"),
        (f"https://api.example/v1?token={S}&page=2", "https://api.example/v1?"),
        (f"docker build --build-arg=NPM_TOKEN={S} .", "docker build --build-arg=NPM_TOKEN="),
        (f"redis://:{S}@cache:6379/0", "redis://:"),
        (f"curl -uadmin:{S} https://x", "curl -uadmin:"),
        (f"curl --user=admin:{S} https://x", "curl --user=admin:"),
        (f"docker login -p{S} registry.example", "docker login -p"),
        (f"mysql -h db -uroot -p{S} shop", "mysql -h db -uroot -p"),
        (f"sshpass -p {S} ssh host", "sshpass -p "),
        (f'{{"spring": {{"datasource": {{"password": "{S}"}}}}}}', '"password": '),
        (f"file://deploy:{S}@git.example/repo.git", "file://deploy:"),
    ],
)
def test_secret_forms_are_redacted(text: str, kept: str) -> None:
    out = redact_text(text)
    assert S not in out and MARKER in out and kept in out, out


def test_a_json_value_under_an_ordinary_name_is_searched() -> None:
    value, redacted = redact_value("SPRING_APPLICATION_JSON", f'{{"db": {{"password": "{S}", "url": "x"}}}}')
    assert redacted and value is not None and S not in value and '"url": "x"' in value


def test_exec_form_arguments_are_redacted_as_a_command() -> None:
    assert redact_argv(["/app", "--token", S, "--port", "8080"]) == ["/app", "--token", MARKER, "--port", "8080"]
    assert redact_argv(["/app", f"--password={S}"]) == ["/app", f"--password={MARKER}"]
    assert redact_argv(["/app", "--token", "$TOKEN"]) == ["/app", "--token", "$TOKEN"]  # a reference says where


def test_image_config_commands_are_redacted_whole() -> None:
    config = parse_config(
        (
            '{"config": {"Cmd": ["--api-key", "' + S + '"], "Entrypoint": ["run", "--secret", "' + S + '"], '
            '"Healthcheck": {"Test": ["CMD", "probe", "--token", "' + S + '"]}}}'
        ).encode(),
        "sha256:" + "0" * 64,
    )
    assert S not in repr(config) and config.cmd == ["--api-key", MARKER]


def test_dockerfile_secrets_never_reach_other_facts() -> None:
    from hullcheck.extract.commit import extract_files

    dockerfile = f"""ARG DB_PASSWORD={S}a
FROM alpine:${{DB_PASSWORD}}
ARG API_TOKEN={S}b
USER ${{API_TOKEN}}
WORKDIR /app/${{API_TOKEN}}
ONBUILD ENV SECRET_KEY={S}c
ENV CONN="Server=db;Password={S}d"
CMD ["--token", "{S}e"]
HEALTHCHECK CMD ["probe", "--password", "{S}f"]
"""
    rows = extract_files({"Dockerfile": dockerfile.encode()})
    (facts,) = rows.dockerfiles.values()
    assert S not in repr(facts)
    stage = facts.stages[0]
    assert (stage.final_user, stage.workdir) == (MARKER, f"/app/{MARKER}")
    assert stage.cmd == f'["--token", "{MARKER}"]' and stage.healthcheck == f"probe --password {MARKER}"


def test_secrets_from_dotenv_and_url_queries_never_reach_other_facts() -> None:
    from hullcheck.extract.commit import extract_files
    from hullcheck.sources.specs import RepoSpec

    compose = b"services:\n  a:\n    image: registry.example/app:${REGISTRY_TOKEN}\n    environment:\n" \
              b"      PLAIN: ${DB_PASSWORD}\n"  # fmt: skip
    rows = extract_files({"compose.yaml": compose, ".env": f"REGISTRY_TOKEN={S}1\nDB_PASSWORD={S}2\n".encode()})
    assert S not in repr(rows.compose)
    assert S not in RepoSpec("x", f"https://git.example/x.git?private_token={S}", None).display_url
    assert S not in redact_text(f"HEALTHCHECK CMD curl -fsuadmin:{S} http://localhost/")


def test_dockerfile_args_expanding_into_each_other_stay_small() -> None:
    from hullcheck.extract.commit import extract_files

    chain = "ARG A0=xxxxxxxxxx\n" + "".join(f"ARG A{i}=${{A{i - 1}}}${{A{i - 1}}}\n" for i in range(1, 40))
    rows = extract_files({"Dockerfile": (chain + "FROM alpine:${A39}\nUSER ${A39}\n").encode()})
    (facts,) = rows.dockerfiles.values()
    assert len(repr(facts)) < 2_000_000 and facts.stages[0].final_user is not None
