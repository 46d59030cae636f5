"""A value the database cannot take (invalid Unicode, a number beyond its column) never fails a
batch: it is stored repaired (U+FFFD, NULL) and the run says so."""

from __future__ import annotations

from support.org import Org, days_ago

from hullcheck.audit import run_audit
from hullcheck.demo.gitbuild import Commit
from hullcheck.store_values import clean_text

HOSTILE_COMPOSE = """\
services:
  "bad\\ud800name":
    image: "alpine:\\udfff"
    environment:
      GREETING: "caf\\ud800"
    ports: ["80:80"]
    deploy:
      resources:
        limits:
          memory: 99999999999999T
  null:
    image: busybox
"""


def test_hostile_values_are_stored_repaired_and_the_batch_survives(org: Org) -> None:
    for i in range(3):  # neighbours in the same write batch
        org.repo(f"fine-{i}", [Commit(days_ago(2), {"Dockerfile": "FROM alpine:3.20\n"})])
    org.repo("hostile", [Commit(days_ago(2), {"compose.yaml": HOSTILE_COMPOSE, "Dockerfile": "FROM alpine\n"})])
    org.extra["write_batch_repos"] = 10
    summary = run_audit(org.config())
    assert summary.status == "ok", summary.git.failures
    assert org.scalar("SELECT count(*) FROM latest_dockerfiles") == 4  # nobody's rows were lost
    services = dict(org.query("SELECT service, image FROM latest_compose_services WHERE repo = 'hostile'"))
    assert services == {"bad\ufffdname": "alpine:\ufffd", "null": "busybox"}, services
    env = org.scalar("SELECT environment FROM latest_compose_services WHERE service = 'bad\ufffdname'")
    assert env == [{"key": "GREETING", "value": "caf\ufffd", "redacted": False}]
    assert org.scalar("SELECT memory_limit FROM latest_compose_services WHERE service = 'bad\ufffdname'") is None
    message = org.scalar("SELECT message FROM runs")
    assert isinstance(message, str) and "values repaired to be stored" in message
    assert "compose_service_facts.service: invalid text replaced" in message
    assert "compose_service_facts.memory_limit: number out of range" in message


def test_clean_text_keeps_valid_text_and_joins_surrogate_pairs() -> None:
    assert clean_text("plain ü €") == "plain ü €"
    assert clean_text("\ud83d\ude00") == "😀"  # a pair written as two escapes is one character
    assert clean_text("a\ud800b\udfffc") == "a\ufffdb\ufffdc"


def test_a_secret_no_extractor_looks_for_is_redacted_where_every_value_is_written(org: Org) -> None:
    secret = "hcCANARYpathsecret"
    org.repo("leaky", [Commit(days_ago(1), {f"ops/api_token={secret}/Dockerfile": "FROM alpine:3.20\n"})])
    assert run_audit(org.config()).status == "ok"
    paths = [r[0] for r in org.query("SELECT path FROM latest_repo_files")]
    assert paths == ["ops/api_token=<redacted>"], paths  # the value runs to the end of the word
    dump = org.query("SELECT string_agg(CAST(f AS VARCHAR), ' ') FROM git_commit_files f")[0][0]
    assert secret not in str(dump)
    message = org.scalar("SELECT message FROM runs")
    assert isinstance(message, str) and "git_commit_files.path: secret redacted (1)" in message
