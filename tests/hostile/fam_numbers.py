"""Numbers beyond their columns (`numbers`): ports of 2^36, ranges of 1.5 million ports, memory of
1e30 bytes or `99999999999999T`, cpus of 1e300 or infinity, NaN, negatives, floats where
integers belong, integers of 80 digits; in Compose files and Dockerfiles.
"""

from __future__ import annotations

from hostile.model import CaseBuilder, register


def _compose(name: str, body: str, description: str) -> None:
    def build(k: CaseBuilder) -> None:
        k.repo({"compose.yaml": "services:\n  app:\n    image: alpine\n" + body}, group="numbers")
        k.expect("compose", "compose.yaml")

    register("numbers", name, "git", description, build)


def _limits(key: str, value: str) -> str:
    return f"    deploy:\n      resources:\n        limits:\n          {key}: {value}\n"


COMPOSE = {
    "port-huge": ('    ports: ["99999999999"]\n', "a port of 99999999999"),
    "port-huge-published": ('    ports: ["99999999999:80"]\n', "a published port of 99999999999"),
    "port-huge-target": ('    ports: ["80:99999999999"]\n', "a target port of 99999999999"),
    "port-range-1.5M": ('    ports: ["1-1500000"]\n', "a port range of 1.5 million ports"),
    "port-range-both-1.5M": ('    ports: ["1-1500000:1-1500000"]\n', "published and target ranges of 1.5 million"),
    "port-range-huge": ('    ports: ["0-99999999999"]\n', "a port range up to 99999999999"),
    "port-range-reversed": ('    ports: ["65535-1"]\n', "a reversed port range"),
    "port-range-mismatched": ('    ports: ["1000-2000:1-5"]\n', "published and target ranges of different lengths"),
    "port-ip-huge": ('    ports: ["999.999.999.999:99999999999:99999999999/udp"]\n', "an IP and ports out of range"),
    "port-int-80-digits": ("    ports: [" + "9" * 80 + "]\n", "a YAML integer port of 80 digits"),
    "port-long-huge": ('    ports: [{target: 99999999999, published: "1e30"}]\n', "long syntax: target 99999999999"),
    "port-long-negative": ("    ports: [{target: -1, published: -5}]\n", "long syntax: negative ports"),
    "port-long-float": ("    ports: [{target: 1.5, published: 2.5}]\n", "long syntax: float ports"),
    "port-long-inf": ("    ports: [{target: .inf, published: .inf}]\n", "long syntax: infinite ports"),
    "port-long-nan": ("    ports: [{target: .nan}]\n", "long syntax: NaN port"),
    "port-long-string": ('    ports: [{target: "abc", published: {a: 1}}]\n', "long syntax: a string and a mapping"),
    "port-long-80-digits": ("    ports: [{target: " + "9" * 80 + "}]\n", "long syntax: an 80-digit port"),
    "expose-huge": ('    expose: ["99999999999", "1-1500000"]\n', "expose of huge ports and ranges"),
    "mem-limit-1e30": ("    mem_limit: 1e30\n    memswap_limit: 1e30\n", "mem_limit: 1e30"),
    "memory-1e30": (_limits("memory", "1e30"), "deploy memory limit 1e30"),
    "memory-T": (_limits("memory", "99999999999999T"), "deploy memory limit 99999999999999T"),
    "memory-1e400": (_limits("memory", "1e400"), "deploy memory limit 1e400 (infinity)"),
    "memory-nan": (_limits("memory", ".nan"), "deploy memory limit NaN"),
    "memory-negative": (_limits("memory", '"-5G"'), "deploy memory limit -5G"),
    "memory-80-digits": (_limits("memory", "9" * 80), "deploy memory limit of 80 digits"),
    "memory-exp-unit": (_limits("memory", '"1e30b"'), "deploy memory limit 1e30b"),
    "memory-string-dots": (_limits("memory", '"1.2.3G"'), "deploy memory limit 1.2.3G"),
    "cpus-1e300": (_limits("cpus", "1e300"), "cpus: 1e300"),
    "cpus-1e309": (_limits("cpus", '"1e309"'), "cpus: 1e309 (infinity as text)"),
    "cpus-inf": (_limits("cpus", ".inf"), "cpus: .inf"),
    "cpus-nan": (_limits("cpus", ".nan"), "cpus: .nan"),
    "cpus-negative": (_limits("cpus", "-5"), "cpus: -5"),
    "cpus-400-digits": (_limits("cpus", "1" + "0" * 400), "cpus: an integer of 400 digits (no float holds it)"),
    "cpus-mapping": (_limits("cpus", "{a: 1}"), "cpus: a mapping"),
    "replicas-1e30": ("    deploy:\n      replicas: 1e30\n", "deploy.replicas: 1e30"),
    "shm-ulimits-pids": (
        "    shm_size: 99999999999999T\n    pids_limit: 1e30\n    ulimits:\n      nofile: 1e30\n"
        "      nproc: {soft: 99999999999999999999, hard: -1}\n",
        "shm_size, pids_limit, ulimits huge",
    ),
    "healthcheck-durations": (
        '    healthcheck:\n      test: ["CMD", "true"]\n      interval: 99999999999999999h\n'
        "      retries: 1e30\n      start_period: -1s\n",
        "healthcheck durations and retries huge",
    ),
}
for _name, (_body, _desc) in COMPOSE.items():
    _compose(_name, _body, _desc)


def _dockerfile(name: str, text: str, description: str) -> None:
    def build(k: CaseBuilder) -> None:
        k.repo({"Dockerfile": text}, group="numbers")
        k.expect("dockerfile", "Dockerfile")

    register("numbers", name, "git", description, build)


_dockerfile(
    "dockerfile-expose-huge",
    "FROM alpine\nEXPOSE 99999999999 1-1500000 -1 80/udp99999 " + "9" * 80 + "\n",
    "EXPOSE of huge ports and ranges",
)
_dockerfile(
    "dockerfile-healthcheck-huge",
    "FROM alpine\nHEALTHCHECK --interval=99999999999999999h --retries=99999999999999999999 "
    "--start-period=1e30s CMD true\n",
    "HEALTHCHECK durations and retries beyond int64",
)
_dockerfile(
    "dockerfile-copy-from-huge-index",
    "FROM alpine\nCOPY --from=99999999999999999999 /a /b\nCOPY --from=-1 /a /b\n",
    "COPY --from a stage index of 20 digits",
)
_dockerfile(
    "dockerfile-user-huge-uid",
    "FROM alpine\nUSER 99999999999999999999:99999999999999999999\n",
    "USER with uid and gid beyond int64",
)
