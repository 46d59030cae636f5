"""Package installs recognised in RUN scripts, and secrets that never survive extraction."""

from __future__ import annotations

import pytest

from hullcheck.extract.dockerfile.packages import PackageInstall, cache_cleaned, installs_in
from hullcheck.extract.dockerfile.shellwords import split_commands
from hullcheck.redact import MARKER, redact_text, redact_url, redact_value


def _installs(script: str) -> list[tuple[str, str, str | None]]:
    return [(p.manager, p.package, p.version) for argv in split_commands(script) for p in installs_in(argv)]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (
            "apt-get update && apt-get install -y --no-install-recommends curl=7.88 ca-certificates",
            [("apt", "curl", "7.88"), ("apt", "ca-certificates", None)],
        ),
        (
            "DEBIAN_FRONTEND=noninteractive sudo apt -o Dpkg::Options::=--force-confnew install -y vim",
            [("apt", "vim", None)],
        ),
        ("apk add --no-cache --virtual .build gcc musl-dev=1.2", [("apk", "gcc", None), ("apk", "musl-dev", "1.2")]),
        ("yum install -y --setopt=tsflags=nodocs httpd && yum clean all", [("yum", "httpd", None)]),
        ("dnf -y install python3", [("dnf", "python3", None)]),
        ("microdnf install -y shadow-utils", [("microdnf", "shadow-utils", None)]),
        ("zypper -n in git-core", [("zypper", "git-core", None)]),
        (
            "pip install --no-cache-dir -r requirements.txt flask==3.0 'uvicorn[standard]>=0.30' ./local",
            [("pip", "flask", "==3.0"), ("pip", "uvicorn[standard]", ">=0.30")],
        ),
        ("python3 -m pip install -U pip", [("pip", "pip", None)]),
        ("pip3.12 install numpy", [("pip", "numpy", None)]),
        ("npm install -g typescript@5.4 @angular/cli", [("npm", "typescript", "5.4"), ("npm", "@angular/cli", None)]),
        ("npm ci", []),
        ("yarn global add serve", [("yarn", "serve", None)]),
        ("gem install bundler -v 2.5 --no-document", [("gem", "bundler", "2.5")]),
        ("go install golang.org/x/tools/gopls@v0.16.0", [("go", "golang.org/x/tools/gopls", "v0.16.0")]),
        ("cargo install --locked ripgrep", [("cargo", "ripgrep", None)]),
        ("echo apt-get install nope  # not a command", []),
        ("apt-get update", []),
    ],
)
def test_installs_are_recognised(script: str, expected: list[tuple[str, str, str | None]]) -> None:
    assert _installs(script) == expected


@pytest.mark.parametrize(
    ("manager", "script", "mounts", "env", "expected"),
    [
        ("apt", "apt-get update && apt-get install -y x && rm -rf /var/lib/apt/lists/*", [], set(), True),
        ("apt", "apt-get update && apt-get install -y x && apt-get clean", [], set(), False),
        ("apt", "apt-get install -y x", ["/var/lib/apt"], set(), True),
        ("apt", "apt-get install -y x", ["/var/cache/apt"], set(), False),  # the lists still ship
        ("apk", "apk add --no-cache x", [], set(), True),
        ("apk", "apk add x", [], set(), False),
        ("pip", "pip install x", [], {"PIP_NO_CACHE_DIR"}, True),
        ("pip", "pip install --no-cache-dir x", [], set(), True),
        ("pip", "pip install x", ["/root/.cache/pip"], set(), True),
        ("pip", "pip install x", [], set(), False),
        ("dnf", "dnf install -y x && dnf clean all", [], set(), True),
        ("npm", "npm install -g x && npm cache clean --force", [], set(), True),
        ("gem", "gem install x", [], set(), None),  # we cannot tell
    ],
)
def test_cache_cleaned(manager: str, script: str, mounts: list[str], env: set[str], expected: bool | None) -> None:
    argvs = [a for a in split_commands(script) if installs_in(a)]
    assert cache_cleaned(manager, script, argvs, mounts, env) is expected


def test_package_install_is_a_value() -> None:
    assert installs_in(["apk", "add", "x"]) == [PackageInstall("apk", "x", None)]


@pytest.mark.parametrize(
    ("name", "value", "redacted"),
    [
        ("DB_PASSWORD", "hunter2", True),
        ("API_KEY", "abc", True),
        ("GITHUB_TOKEN", "${GITHUB_TOKEN}", False),  # a reference says where the secret comes from
        ("PASSWORD_FILE", "/run/secrets/db", False),
        ("DATABASE_URL", "postgres://app:pw@db/app", True),
        ("AWS_REGION", "eu-west-1", False),
        ("SOMETHING", "AKIAIOSFODNN7EXAMPLE", True),
        ("EMPTY_SECRET", "", False),
        ("AIRFLOW__API__AUTH_BACKENDS", "airflow.api.auth.backend.basic_auth", False),  # a class path
        ("TOKEN_TTL", "3600", False),
        ("AUTH_BACKEND", "ghp_" + "a1B2" * 9, True),  # a credential's shape under any name
        ("AUTH_HEADER", "Bearer abc", True),  # a header carries the secret itself
    ],
)
def test_redact_value(name: str, value: str, redacted: bool) -> None:
    stored, flag = redact_value(name, value)
    assert flag is redacted and (stored == MARKER) is redacted


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("ENV DB_PASSWORD=hunter2 OTHER=1", "hunter2"),
        ('curl -H "Authorization: Bearer abc.def.ghi" https://x', "abc.def.ghi"),
        ("git clone https://bot:glpat-aaaaaaaaaaaaaaaaaaaa@gitlab.example/x.git", "glpat-aaaa"),
        ("mysql --password s3cret -u root", "s3cret"),
        ("export TOKEN='with spaces inside'", "with spaces"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEA"),
    ],
)
def test_redact_text_removes_the_secret_and_keeps_the_rest(text: str, secret: str) -> None:
    out = redact_text(text)
    assert secret not in out and MARKER in out


def test_redact_text_leaves_ordinary_text_alone() -> None:
    text = "apt-get install -y --no-install-recommends curl && echo the token is elsewhere"
    assert redact_text(text) == text


def test_redact_url() -> None:
    assert redact_url("https://user:pw@host/x.git") == f"https://user:{MARKER}@host/x.git"
    assert redact_url("/srv/repo.git") == "/srv/repo.git"
