"""Ownership and profiles are decided in the documented order; CODEOWNERS patterns mean what the forges say."""

from __future__ import annotations

import pytest

from hullcheck.config import parse_config
from hullcheck.policy.ownership import CodeownersRule, Owners, Subject, codeowners_regex, parse_codeowners_rule

CONFIG = """
teams:
  - {name: payments, profile: microservice, repos: ["pay-*", "mono"], images: ["reg.io/payments/*"],
     codeowners: "@acme/payments"}
  - {name: data, profile: datascience, repos: ["ml-*"], codeowners: ["@acme/data", "@jane"]}
overrides:
  - {repos: [mono], paths: ["legacy/**"], team: data}
  - {repos: [mono], paths: ["ml/batch/**"], profile: monolith}
  - {images: ["reg.io/payments/jobs*"], profile: datascience}
"""


def _owners() -> Owners:
    return Owners(parse_config(CONFIG), {"microservice", "datascience", "monolith", "tooling"})


def _rules(text: str) -> list[CodeownersRule]:
    rules = [parse_codeowners_rule("CODEOWNERS", n, line) for n, line in enumerate(text.splitlines(), 1)]
    return [r for r in rules if r is not None]


def _dockerfile(repo: str, path: str) -> Subject:
    return Subject(1, "dockerfile", f"{repo}/{path}", repo=repo, path=path)


def _image(repository: str) -> Subject:
    return Subject(1, "image", f"reg.io/{repository}:1", registry="reg.io", repository=repository, tag="1")


def test_the_order_override_codeowners_globs_unowned() -> None:
    owners = _owners()
    rules = _rules("* @acme/platform\n/ml/ @acme/data\n/legacy/ @acme/payments\n")
    cases = [
        (_dockerfile("mono", "legacy/Dockerfile"), "data", "override: config overrides[0]"),
        (_dockerfile("mono", "ml/Dockerfile"), "data", "codeowners: CODEOWNERS:2 '/ml/' @acme/data"),
        (_dockerfile("mono", "api/Dockerfile"), "payments", "repos glob: team payments repos 'mono'"),
        (_dockerfile("other", "Dockerfile"), "unowned", "unowned: no override, label, CODEOWNERS rule or glob matches"),
    ]
    for subject, team, how in cases:
        owners.decide(subject, rules)
        assert (subject.team, subject.decided_by) == (team, how), subject.subject


def test_profiles_come_from_an_override_a_label_or_the_team() -> None:
    owners = _owners()
    batch = _dockerfile("mono", "ml/batch/Dockerfile")
    owners.decide(batch, [])
    assert (batch.team, batch.profile, batch.profile_by) == ("payments", "monolith", "override: config overrides[1]")
    assert batch.situation == "payments/monolith"
    labelled = _image("payments/api")
    owners.decide(labelled, [], label_team="data", label_profile="tooling")
    assert (labelled.team, labelled.decided_by, labelled.profile) == ("data", "label: org.hullcheck.team", "tooling")
    unknown_label = _image("payments/api")
    owners.decide(unknown_label, [], label_team="ghosts", label_profile="nope")
    assert (unknown_label.team, unknown_label.profile) == ("payments", "microservice")
    jobs = _image("payments/jobs-nightly")
    owners.decide(jobs, [])
    assert (jobs.team, jobs.profile) == ("payments", "datascience")


def test_images_follow_globs_then_lineage() -> None:
    owners = _owners()
    repo = Subject(1, "repo", "ml-train", repo="ml-train")
    owners.decide(repo, [])
    built = _image("misc/trainer")
    owners.decide(built, [], lineage_repo="ml-train")
    assert built.team == "data" and built.decided_by.startswith("lineage: built from repository ml-train")
    orphan = _image("misc/other")
    owners.decide(orphan, [], lineage_repo="not-audited")
    assert orphan.team == "unowned"


@pytest.mark.parametrize(
    ("pattern", "matches", "not_matches"),
    [
        ("*", ["a", "x/y/z"], []),
        ("*.js", ["app.js", "web/app.js"], ["app.jsx"]),
        ("/build/logs/", ["build/logs/a.txt", "build/logs/x/y"], ["x/build/logs/a", "build/logs"]),
        ("docs/*", ["docs/a.md"], ["docs/x/a.md", "x/docs/a.md"]),
        ("apps/", ["apps/a", "x/apps/b/c"], ["apps"]),
        ("/scripts/**", ["scripts/a", "scripts/x/y"], ["a/scripts/b"]),
        ("**/logs", ["logs", "a/logs", "a/b/logs/c"], ["alogs"]),
        ("services/checkout", ["services/checkout", "services/checkout/Dockerfile"], ["x/services/checkout"]),
    ],
)  # fmt: skip
def test_codeowners_patterns(pattern: str, matches: list[str], not_matches: list[str]) -> None:
    rx = codeowners_regex(pattern)
    assert all(rx.match(p) for p in matches), [p for p in matches if not rx.match(p)]
    assert not any(rx.match(p) for p in not_matches), [p for p in not_matches if rx.match(p)]


def test_the_last_matching_codeowners_rule_wins_even_without_a_team() -> None:
    owners = _owners()
    s = _dockerfile("mono", "ml/tools/Dockerfile")
    owners.decide(s, _rules("/ml/ @acme/data\n/ml/tools/ @acme/somebody-else\n"))
    # The winning rule names no configured team: CODEOWNERS does not decide, the repos glob does.
    assert (s.team, s.decided_by) == ("payments", "repos glob: team payments repos 'mono'")
    handle = _dockerfile("mono", "ml/x/Dockerfile")
    owners.decide(handle, _rules("/ml/ @Jane\n"))
    assert handle.team == "data"  # handles compare case-insensitively, as on the forges
