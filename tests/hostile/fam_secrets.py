"""Secrets in git (`secrets`): one canary per case, each in a secret-looking position.

Dockerfiles (ENV/ARG/LABEL by name; RUN lines with `curl -uuser:pw`, `https://user:pw@host`,
`redis://:pw@host`, `jdbc:…&password=`, `Server=…;Password=`, `?token=`, auth headers, docker
login; exec forms `["--token", "…"]`; ONBUILD; heredocs; ADD of a URL with a password; a parse
error quoting the secret), Compose (environment in every form, env_file, .env interpolation,
build contexts with passwords, build args, commands, healthchecks, labels, error messages),
scripts and CI files (`--build-arg NPM_TOKEN=…`, a secret straddling the 200-character cut of a
signal's detail), files hullcheck must never store (.npmrc, private keys, JSON configs), and
git remote URLs with credentials (served over smart HTTP, or unreachable; ssh, git, encoded).
"""

from __future__ import annotations

from collections.abc import Callable

from hostile.model import CaseBuilder, register

S = "secrets"
Files = dict[str | bytes, str | bytes]


def _secret(name: str, kind: str, make: Callable[[str], Files], expect: tuple[str, str] | None = None) -> None:
    def build(k: CaseBuilder) -> None:
        token = k.canary(kind)
        files = make(token)
        at_root = any(
            str(p).startswith((".github/", ".gitlab-ci.yml")) for p in files
        )  # CI files count at the root only
        k.repo(files, group=None if at_root else "secrets")
        if expect:
            k.expect(*expect)

    register(S, name, "git", kind, build)


def _dockerfile(name: str, kind: str, body: str) -> None:
    _secret(
        name,
        kind,
        lambda t: {"Dockerfile": "FROM alpine\n" + body.replace("@T", t) + "\n"},
        ("dockerfile", "Dockerfile"),
    )


DOCKERFILE = {
    "df-env-password": ("Dockerfile ENV DB_PASSWORD=…", "ENV DB_PASSWORD=@T"),
    "df-env-quoted": ('Dockerfile ENV API_TOKEN="…" (quoted)', 'ENV API_TOKEN="@T"'),
    "df-env-pairs": ("Dockerfile ENV A=1 SECRET_KEY=… B=2 (several pairs)", "ENV A=1 SECRET_KEY=@T B=2"),
    "df-env-legacy": ("Dockerfile ENV API_TOKEN … (legacy space form)", "ENV API_TOKEN @T"),
    "df-env-java-opts": (
        "Dockerfile ENV JAVA_OPTS=-Dspring.datasource.password=…",
        'ENV JAVA_OPTS="-Xmx1g -Dspring.datasource.password=@T"',
    ),
    "df-env-json": (
        'Dockerfile ENV CONFIG=\'{"password": "…"}\' (JSON in a value)',
        'ENV CONFIG=\'{"password": "@T"}\'',
    ),
    "df-env-dsn": (
        "Dockerfile ENV DATABASE_URL=postgres://user:…@db",
        "ENV DATABASE_URL=postgres://app:@T@db:5432/app",
    ),
    "df-arg-npm-token": ("Dockerfile ARG NPM_TOKEN=…", "ARG NPM_TOKEN=@T"),
    "df-arg-quoted": ("Dockerfile ARG GITHUB_TOKEN='…' (quoted)", "ARG GITHUB_TOKEN='@T'"),
    "df-label-password": ("Dockerfile LABEL password=…", "LABEL password=@T"),
    "df-label-quoted-key": ('Dockerfile LABEL "api.token"="…"', 'LABEL "api.token"="@T"'),
    "df-run-curl-u-nospace": (
        "Dockerfile RUN curl -uuser:… (no space after -u)",
        "RUN curl -uadmin:@T https://x.example/",
    ),
    "df-run-curl-u": ("Dockerfile RUN curl -u user:…", "RUN curl -u admin:@T https://x.example/"),
    "df-run-curl-user-eq": ("Dockerfile RUN curl --user=user:…", "RUN curl --user=admin:@T https://x.example/"),
    "df-run-url-password": (
        "Dockerfile RUN … https://user:…@host",
        "RUN pip install git+https://ci:@T@git.example/p.git",
    ),
    "df-run-git-clone-oauth": (
        "Dockerfile RUN git clone https://oauth2:…@gitlab",
        "RUN git clone https://oauth2:@T@gitlab.example/g/r.git /src",
    ),
    "df-run-redis-empty-user": (
        "Dockerfile RUN redis-cli -u redis://:…@host (empty user)",
        "RUN redis-cli -u redis://:@T@redis:6379 ping",
    ),
    "df-run-jdbc": (
        "Dockerfile RUN … jdbc:postgresql://db/x?user=u&password=…",
        "RUN java -jar app.jar 'jdbc:postgresql://db/app?user=app&password=@T'",
    ),
    "df-run-server-password": (
        'Dockerfile RUN … "Server=db;Password=…;"',
        'RUN sqlcmd -C "Server=db;User Id=sa;Password=@T;"',
    ),
    "df-run-query-token": (
        "Dockerfile RUN curl https://api/x?token=…",
        "RUN curl 'https://api.example/hook?id=1&token=@T'",
    ),
    "df-run-auth-header": (
        'Dockerfile RUN curl -H "Authorization: Bearer …"',
        'RUN curl -H "Authorization: Bearer @T" x',
    ),
    "df-run-docker-login": ("Dockerfile RUN docker login -u u -p …", "RUN docker login -u ci -p @T registry.example"),
    "df-run-flag-space": ("Dockerfile RUN ./app --token …", "RUN ./app --token @T"),
    "df-run-flag-eq": ("Dockerfile RUN ./app --api-key=…", "RUN ./app --api-key=@T"),
    "df-run-export": (
        "Dockerfile RUN export AWS_SECRET_ACCESS_KEY=…",
        "RUN export AWS_SECRET_ACCESS_KEY=@T && aws s3 ls",
    ),
    "df-run-npm-config": (
        "Dockerfile RUN npm config set //reg/:_authToken …",
        "RUN npm config set //registry.npmjs.org/:_authToken @T",
    ),
    "df-run-json-echo": (
        'Dockerfile RUN echo \'{"password": "…"}\' > conf',
        'RUN echo \'{"password": "@T"}\' > /conf.json',
    ),
    "df-run-exec-token": ('Dockerfile RUN ["app", "--token", "…"] (exec form)', 'RUN ["app", "--token", "@T"]'),
    "df-cmd-exec-password": ('Dockerfile CMD ["--password", "…"] (exec form)', 'CMD ["server", "--password", "@T"]'),
    "df-entrypoint-exec-eq": ('Dockerfile ENTRYPOINT ["app", "--api-key=…"]', 'ENTRYPOINT ["app", "--api-key=@T"]'),
    "df-healthcheck-curl": (
        "Dockerfile HEALTHCHECK CMD curl -uuser:…",
        "HEALTHCHECK CMD curl -fsuadmin:@T http://localhost/",
    ),
    "df-onbuild-env": ("Dockerfile ONBUILD ENV API_TOKEN=…", "ONBUILD ENV API_TOKEN=@T"),
    "df-onbuild-run": ("Dockerfile ONBUILD RUN curl -u user:…", "ONBUILD RUN curl -u deploy:@T https://x.example"),
    "df-onbuild-arg": ("Dockerfile ONBUILD ARG NPM_TOKEN=…", "ONBUILD ARG NPM_TOKEN=@T"),
    "df-heredoc-env": ("Dockerfile RUN <<EOF heredoc with PASSWORD=…", "RUN <<EOF\nexport PASSWORD=@T\n./setup\nEOF"),
    "df-copy-heredoc": (
        "Dockerfile COPY <<EOF /app/.env with api_token: …",
        "COPY <<EOF /app/config.yaml\napi_token: @T\nEOF",
    ),
    "df-add-url-password": (
        "Dockerfile ADD https://user:…@host/file",
        "ADD https://deploy:@T@files.example/app.tgz /app.tgz",
    ),
    "df-mount-secret-env": (
        "Dockerfile RUN --mount=…,env=… with TOKEN=… inline",
        "RUN --mount=type=secret,id=t TOKEN=@T make",
    ),
    "df-parse-error": ("Dockerfile parse error quoting API_TOKEN=… as an instruction", "API_TOKEN=@T"),
    "df-unknown-instruction-flag": (
        "Dockerfile parse error: unknown instruction line with --password …",
        "BOGUS --password @T",
    ),
    "df-syntax-directive-url": ("Dockerfile # syntax= an image ref with user:…@ in it", ""),
    "df-from-url-creds": (
        "Dockerfile FROM user:…@registry (credentials in a base reference)",
        "FROM https://ci:@T@registry.example/app:1 AS b",
    ),
}
for _name, (_kind, _body) in DOCKERFILE.items():
    if _name == "df-syntax-directive-url":
        _secret(
            _name,
            _kind,
            lambda t: {"Dockerfile": f"# syntax=https://ci:{t}@registry.example/frontend:1\nFROM alpine\n"},
            ("dockerfile", "Dockerfile"),
        )
    else:
        _dockerfile(_name, _kind, _body)


def _compose(name: str, kind: str, svc: str, extra: Callable[[str], Files] | None = None, top: str = "") -> None:
    def make(t: str) -> Files:
        files: Files = {
            "compose.yaml": "services:\n  app:\n    image: alpine\n" + svc.replace("@T", t) + top.replace("@T", t)
        }
        files.update(extra(t) if extra else {})
        return files

    _secret(name, kind, make, ("compose", "compose.yaml"))


COMPOSE = {
    "compose-env-map": ("Compose environment: {PASSWORD: …}", "    environment:\n      PASSWORD: @T\n"),
    "compose-env-list": ("Compose environment: [API_TOKEN=…]", "    environment:\n      - API_TOKEN=@T\n"),
    "compose-env-dsn": (
        "Compose environment DATABASE_URL: postgres://u:…@db",
        "    environment:\n      DATABASE_URL: postgres://app:@T@db/app\n",
    ),
    "compose-env-redis": (
        "Compose environment REDIS_URL: redis://:…@host (empty user)",
        "    environment:\n      REDIS_URL: redis://:@T@redis:6379/0\n",
    ),
    "compose-env-server": (
        "Compose environment CONN: Server=db;Password=…;",
        '    environment:\n      CONN: "Server=db;Database=x;Password=@T;"\n',
    ),
    "compose-env-jdbc": (
        "Compose environment JDBC: jdbc:mysql://db/x?user=u&password=…",
        "    environment:\n      JDBC: jdbc:mysql://db/x?user=u&password=@T\n",
    ),
    "compose-env-query-token": (
        "Compose environment CALLBACK: https://x/cb?token=…",
        "    environment:\n      CALLBACK: https://x.example/cb?token=@T\n",
    ),
    "compose-env-git-url": (
        "Compose environment GIT_REMOTE: https://user:…@git",
        "    environment:\n      GIT_REMOTE: https://bot:@T@git.example/r.git\n",
    ),
    "compose-env-json": (
        'Compose environment SETTINGS: \'{"password": "…"}\'',
        '    environment:\n      SETTINGS: \'{"password": "@T"}\'\n',
    ),
    "compose-env-curl": (
        "Compose environment PROBE: curl -uuser:… (no space)",
        "    environment:\n      PROBE: curl -uadmin:@T http://x\n",
    ),
    "compose-env-list-redis": (
        "Compose environment list - CACHE=redis://:…@h",
        "    environment:\n      - CACHE=redis://:@T@cache:6379\n",
    ),
    "compose-build-context-url": (
        "Compose build.context https://user:…@github.com/x.git",
        "    build:\n      context: https://ci:@T@github.com/org/app.git#main\n",
    ),
    "compose-build-context-token-user": (
        "Compose build.context https://<token>@github.com (token as user)",
        "    build:\n      context: https://@T@github.com/org/app.git\n",
    ),
    "compose-build-args": (
        "Compose build.args NPM_TOKEN: …",
        "    build:\n      context: .\n      args:\n        NPM_TOKEN: @T\n",
    ),
    "compose-build-args-list": (
        "Compose build.args - NPM_TOKEN=…",
        "    build:\n      context: .\n      args:\n        - NPM_TOKEN=@T\n",
    ),
    "compose-command-exec": ('Compose command: ["--token", "…"]', '    command: ["serve", "--token", "@T"]\n'),
    "compose-command-shell": ("Compose command: serve --password=…", "    command: serve --password=@T\n"),
    "compose-entrypoint": (
        "Compose entrypoint: sh -c 'curl -uuser:…'",
        "    entrypoint: [sh, -c, 'curl -uadmin:@T x']\n",
    ),
    "compose-healthcheck": (
        "Compose healthcheck test: curl -u user:…",
        '    healthcheck:\n      test: ["CMD-SHELL", "curl -u admin:@T http://localhost"]\n',
    ),
    "compose-labels": (
        "Compose labels: {password: …}",
        "    labels:\n      password: @T\n      traefik.basicauth: admin:@T\n",
    ),
    "compose-extension-field": ("Compose x- extension field x-password: …", "    x-password: @T\n"),
    "compose-image-with-creds": (
        "Compose image: user:…@registry/app (credentials in the image ref)",
        "    image: https://ci:@T@registry.example/app:1\n",
    ),
    "compose-error-required": (
        "Compose ${API_TOKEN:?…} error message quoting the secret",
        "    command: ${MISSING:?API_TOKEN=@T}\n",
    ),
    "compose-error-unknown-key": ("Compose error: an unknown service key PASSWORD=…", "    PASSWORD=@T: 1\n"),
    "compose-error-depends-on": (
        "Compose error: depends_on an undefined service named API_TOKEN=…",
        "    depends_on: [API_TOKEN=@T]\n",
    ),
    "compose-error-yaml": (
        "Compose error: invalid YAML right after a password",
        '    environment:\n      PASSWORD: "@T\n  bad: [\n',
    ),
    "compose-network-mode": (
        "Compose network_mode with a secret flag-like value",
        "    network_mode: container:x --token @T\n",
    ),
}
for _name, (_kind, _svc) in COMPOSE.items():
    _compose(_name, _kind, _svc)

_compose(
    "compose-env-file",
    "Compose env_file holding SECRET_KEY=…",
    "    env_file: app.env\n",
    lambda t: {"app.env": f"SECRET_KEY={t}\nCONN_STRING=Server=db;Password={t}\n"},
)
_compose(
    "compose-dotenv-by-name",
    "Compose ${PASSWORD} from .env into DB_PASSWORD",
    "    environment:\n      DB_PASSWORD: ${PASSWORD}\n",
    lambda t: {".env": f"PASSWORD={t}\n"},
)
_compose(
    "compose-dotenv-into-url",
    "Compose ${PASSWORD} from .env inside a URL",
    "    environment:\n      DB: postgres://app:${PASSWORD}@db/app\n",
    lambda t: {".env": f"PASSWORD={t}\n"},
)
_compose(
    "compose-dotenv-into-plain",
    "Compose ${PASSWORD} from .env into a key that says nothing (PLAIN)",
    "    environment:\n      PLAIN: ${PASSWORD}\n",
    lambda t: {".env": f"PASSWORD={t}\n"},
)
_compose(
    "compose-dotenv-into-context",
    "Compose .env GIT_PASSWORD interpolated into a build context URL",
    "    build:\n      context: https://ci:${GIT_PASSWORD}@git.example/app.git\n",
    lambda t: {".env": f"GIT_PASSWORD={t}\n"},
)
_compose(
    "compose-dotenv-into-image",
    "Compose .env REGISTRY_TOKEN interpolated into image",
    "    image: registry.example/app:${REGISTRY_TOKEN}\n",
    lambda t: {".env": f"REGISTRY_TOKEN={t}\n"},
)
_compose(
    "compose-dotenv-project-name",
    "Compose .env COMPOSE_PROJECT_NAME … next to a password",
    "",
    lambda t: {".env": f"COMPOSE_PROJECT_NAME=app\nPASSWORD={t}\nCOMPOSE_PROFILES=a,b\n"},
)
_compose(
    "compose-secrets-environment",
    "Compose top-level secrets: {s: {environment: …}} and configs content",
    "    secrets: [s]\n",
    top="secrets:\n  s:\n    environment: PASSWORD\nconfigs:\n  c:\n    content: 'PASSWORD=@T'\n",
)
_compose(
    "compose-include-env",
    "Compose include with env_file holding PASSWORD=…",
    "",
    lambda t: {
        "inc.yaml": "services:\n  i:\n    image: alpine\n    environment:\n      DB_PASSWORD: ${PASSWORD}\n",
        "inc.env": f"PASSWORD={t}\n",
    },
    top="include:\n  - path: inc.yaml\n    env_file: inc.env\n",
)


def _file(name: str, kind: str, path: str, content: str, expect: tuple[str, str] | None = None) -> None:
    _secret(name, kind, lambda t: {path: content.replace("@T", t), "Dockerfile": "FROM alpine\n"}, expect)


_B = "docker build"
SIGNALS = {
    "script-build-arg": (
        "build.sh docker build --build-arg NPM_TOKEN=…",
        "build.sh",
        f"#!/bin/sh\n{_B} --build-arg NPM_TOKEN=@T -t app .\n",
    ),
    "script-build-arg-quoted": (
        'build.sh docker build --build-arg "PASSWORD=…"',
        "build.sh",
        f'{_B} --build-arg "PASSWORD=@T" .\n',
    ),
    "script-build-arg-eq": (
        "build.sh docker build --build-arg=SECRET_KEY=…",
        "build.sh",
        f"{_B} --build-arg=SECRET_KEY=@T .\n",
    ),
    "script-login-then-build": (
        "build.sh docker login -p … && docker build",
        "build.sh",
        f"docker login -u ci -p @T reg && {_B} .\n",
    ),
    "script-curl-then-build": (
        "build.sh curl -uuser:… | docker build -",
        "build.sh",
        f"curl -uadmin:@T https://x/Dockerfile | {_B} -\n",
    ),
    "script-url-in-build": (
        "build.sh docker build https://user:…@git/repo.git",
        "build.sh",
        f"{_B} https://ci:@T@git.example/app.git#main\n",
    ),
    "script-env-prefix": (
        "build.sh DOCKER_BUILDKIT=0 PASSWORD=… docker build",
        "build.sh",
        f"DOCKER_BUILDKIT=0 PASSWORD=@T {_B} .\n",
    ),
    "script-compose-run-token": (
        "build.sh docker compose run app --token …",
        "build.sh",
        "docker compose -f compose.yaml run app --token @T\n",
    ),
    "script-compose-exec-dsn": (
        "build.sh docker-compose exec db psql postgres://u:…@db",
        "build.sh",
        "docker-compose exec db psql postgres://u:@T@db/x\n",
    ),
    "script-detail-cut-200": (
        "build.sh a secret straddling the 200-character cut of a signal detail",
        "build.sh",
        f"{_B} " + "--label x=y " * 15 + "--build-arg NPM_TOKEN=@T .\n",
    ),
    "script-continued-lines": (
        "build.sh docker build over continuation lines with --build-arg API_KEY=…",
        "build.sh",
        f"{_B} \\\n  --build-arg API_KEY=@T \\\n  -t app .\n",
    ),
    "makefile-build-arg": (
        "Makefile docker build --build-arg GITHUB_TOKEN=…",
        "Makefile",
        f"image:\n\t{_B} --build-arg GITHUB_TOKEN=@T -t x .\n",
    ),
    "gitlab-ci-build-arg": (
        ".gitlab-ci.yml - docker build --build-arg CI_TOKEN=…",
        ".gitlab-ci.yml",
        f"build:\n  script:\n    - {_B} --build-arg CI_TOKEN=@T .\n",
    ),
    "workflow-build-arg": (
        "GitHub workflow run: docker build --build-arg NPM_TOKEN=…",
        ".github/workflows/ci.yml",
        f"jobs:\n  b:\n    steps:\n      - run: {_B} --build-arg NPM_TOKEN=@T .\n",
    ),
    "jenkinsfile-build-arg": (
        "Jenkinsfile sh 'docker build --build-arg API_KEY=…'",
        "Jenkinsfile",
        f"pipeline {{ stages {{ stage('b') {{ steps {{ sh '{_B} --build-arg API_KEY=@T .' }} }} }} }}\n",
    ),
    "workflow-login-action": (
        "GitHub workflow docker/login-action password: …",
        ".github/workflows/push.yml",
        "jobs:\n  p:\n    steps:\n      - uses: docker/login-action@v3\n        with:\n"
        f"          password: @T\n      - run: {_B} .\n",
    ),
}
for _name, (_kind, _path, _content) in SIGNALS.items():
    _file(_name, _kind, _path, _content)

NEVER_READ = {
    "npmrc": ("content of .npmrc (_authToken=…), never read", ".npmrc", "//registry.npmjs.org/:_authToken=@T\n"),
    "private-key": (
        "content of a private key file, never read",
        "deploy/id_rsa",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n@T\n-----END OPENSSH PRIVATE KEY-----\n",
    ),
    "json-config": ('content of config.json {"password": …}, never read', "config/config.json", '{"password": "@T"}\n'),
    "maven-settings": (
        "content of settings.xml <password>…</password>",
        "settings.xml",
        "<settings><password>@T</password></settings>\n",
    ),
    "docker-config": (
        "content of .docker/config.json auths",
        ".docker/config.json",
        '{"auths": {"r": {"auth": "@T"}}}\n',
    ),
    "dotenv-unused": ("an .env.production that no Compose file uses, PASSWORD=…", ".env.production", "PASSWORD=@T\n"),
    "yaml-no-services": (
        "a YAML file without services (password: …)",
        "deploy/secrets.yaml",
        "password: @T\ntoken: @T\n",
    ),
    "gitmodules-url": (
        ".gitmodules with a credential URL",
        ".gitmodules",
        '[submodule "x"]\n\turl = https://ci:@T@git.example/x.git\n',
    ),
}
for _name, (_kind, _path, _content) in NEVER_READ.items():
    _file(_name, _kind, _path, _content)


# -- git remote URLs with credentials -------------------------------------------------------------
def _url(name: str, kind: str, template: str, served: bool = True) -> None:
    def build(k: CaseBuilder) -> None:
        token = k.canary(kind)
        files: Files = {"Dockerfile": "FROM alpine\n", "compose.yaml": "services:\n  app:\n    build: .\n"}
        k.git_url(template.replace("@T", token), files if served else None)
        if served:
            k.expect("dockerfile", "Dockerfile")

    register(S, name, "git-url", kind, build)


_url("url-http-user-password", "git URL http://user:…@host (served, cloned)", "http://deploy:@T@{http}/{name}.git")
_url(
    "url-http-token-user",
    "git URL http://<token>@host (a token as the user name, served)",
    "http://@T@{http}/{name}.git",
)
_url(
    "url-http-encoded",
    "git URL with a percent-encoded password (p%40ss:…)",
    "http://deploy:p%40ss%3A@T@{http}/{name}.git",
)
_url(
    "url-http-missing-repo",
    "git URL with a password, repository not found (404)",
    "http://deploy:@T@{http}/nope-{name}.git",
)
_url(
    "url-http-unreachable",
    "git URL http://user:…@127.0.0.1:1 (connection refused)",
    "http://deploy:@T@127.0.0.1:1/x.git",
    False,
)
_url("url-https-unreachable", "git URL https://user:…@127.0.0.1:1", "https://deploy:@T@127.0.0.1:1/x.git", False)
_url(
    "url-ssh-password",
    "git URL ssh://user:…@127.0.0.1:1 (ssh with a password)",
    "ssh://deploy:@T@127.0.0.1:1/x.git",
    False,
)
_url("url-git-protocol", "git URL git://user:…@127.0.0.1:1", "git://deploy:@T@127.0.0.1:1/x.git", False)
_url(
    "url-ref-with-token",
    "git URL with ?private_token=… in the query",
    "http://127.0.0.1:1/x.git?private_token=@T",
    False,
)
