"""`docs/policies.md`, generated from the catalog's YAML so it never drifts (`hullcheck policies docs`)."""

from __future__ import annotations

from hullcheck.policy.catalog import CATEGORIES, Catalog, Policy

_TITLES = {
    "fat-images": "Fat images", "light-images": "Light images", "long-builds": "Long builds",
    "complex-builds": "Complex builds", "compose-habits": "Compose habits", "tooling": "Tooling and portability",
    "security": "Security and hygiene",
}  # fmt: skip


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _policy(p: Policy, catalog: Catalog) -> list[str]:
    m = p.meta
    out = [f"### `{m.id}`: {m.title}", ""]
    out.append(f"Subject: {', '.join(m.subject)} · default severity: **{m.severity}**"
               + ("" if m.enabled else " · disabled by default"))  # fmt: skip
    out += ["", f"**Why.** {_cell(m.rationale)}", "", f"**Instead.** {_cell(m.instead)}", ""]
    if m.params:
        profiles = list(catalog.profiles)
        out.append("| Parameter | Type | Default | " + " | ".join(profiles) + " | Meaning |")
        out.append("|---|---|---|" + "---|" * len(profiles) + "---|")
        for key, spec in m.params.items():
            per = [p.show(key, catalog.profiles[n].values[p.id][key]) if key in catalog.profiles[n].values.get(p.id, {})
                   else "" for n in profiles]  # fmt: skip
            out.append(f"| `{key}` | {spec.type} | {_cell(p.show(key, p.defaults[key]))} | "
                       + " | ".join(_cell(v) for v in per) + f" | {_cell(spec.description)} |")  # fmt: skip
        out.append("")
    sev = {n: prof.values[p.id]["severity"] for n, prof in catalog.profiles.items()
           if "severity" in prof.values.get(p.id, {})}  # fmt: skip
    off = [n for n, prof in catalog.profiles.items() if prof.values.get(p.id, {}).get("enabled") is False]
    if sev:
        out += ["Severity per profile: " + ", ".join(f"{n} {v}" for n, v in sev.items()) + ".", ""]
    if off:
        out += ["Disabled for the profiles: " + ", ".join(off) + ".", ""]
    eq = {tool: ids for tool, ids in m.equivalents.model_dump().items() if ids}
    if eq:
        out += ["Equivalents: " + "; ".join(f"{tool} {', '.join(f'`{i}`' for i in ids)}" for tool, ids in eq.items()),
                ""]  # fmt: skip
    if m.references:
        out += ["References: " + ", ".join(f"<{r}>" for r in m.references), ""]
    return out


def render(catalog: Catalog) -> str:
    shipped = [p for p in catalog.policies.values() if p.origin == "catalog"]
    out = [
        "# Policy catalog",
        "",
        "Generated from `policies/*.yaml` and `policies/profiles.yaml` by `hullcheck policies docs`;"
        " do not edit by hand (a test fails when it is stale).",
        "",
        "Every policy runs for every team at once, with the parameter values of each subject's",
        "situation (its owner's profile, the team's overrides): see `policy_params` in",
        "[schema.md](schema.md) and `hullcheck explain FINGERPRINT` for why a finding fired.",
        "",
        "## Profiles",
        "",
        "| Profile | Meaning |",
        "|---|---|",
        *(f"| `{n}` | {_cell(p.description)} |" for n, p in catalog.profiles.items()),
        "",
        "## Index",
        "",
        "| Policy | Category | Subject | Severity | Title |",
        "|---|---|---|---|---|",
    ]
    order = sorted(shipped, key=lambda p: (CATEGORIES.index(p.meta.category), p.id))
    out += [f"| [`{p.id}`](#{p.id}) | {p.meta.category} | {', '.join(p.meta.subject)} | {p.meta.severity} | "
            f"{_cell(p.meta.title)} |" for p in order]  # fmt: skip
    out.append("")
    for category in CATEGORIES:
        chosen = [p for p in order if p.meta.category == category]
        if not chosen:
            continue
        out += [f"## {_TITLES[category]}", ""]
        for p in chosen:
            out += _policy(p, catalog)
    return "\n".join(out).rstrip() + "\n"
