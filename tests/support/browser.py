"""A real browser over the report site: load each page in headless Chromium and say what is broken.

`check_pages(pages, artifacts)` opens every page from `file://` in Debian's system Chromium (driven by
Playwright through `executable_path`; `playwright install` is never needed) and returns one `PageCheck`
per page: its title, the images that did not load or decode, the internal links whose target file or
`#fragment` is missing, the console errors, and a full-page PNG screenshot (plus one print-to-PDF of the
first page) in `artifacts`. `artifacts_dir(name)` is where tests keep those files. When Chromium is not
installed the calling test *fails* (with the `apt-get install chromium` to run), it is never skipped.

Why a browser and not an HTML parser: whether an image decodes, whether the page renders and prints,
and what the console says are only known by rendering. Links, on the other hand, are checked on disk
(target file, and the target's ids parsed with `html.parser`): no navigation is needed for that.

One browser context does everything, with JavaScript disabled (`java_script_enabled=False`) because the
site must be readable without JS: the page's own scripts never run, lazy-loading is off (Chromium loads
`loading=lazy` images eagerly when scripting is disabled) and the screenshots show the no-JS page.
Playwright's `page.evaluate` / `wait_for_function` still work in that context: they run through the
DevTools protocol, which the "scripting disabled" emulation does not block, so the measurements (image
`complete` / `naturalWidth`, link hrefs) are read from the same page that is screenshotted; no second,
JS-enabled context is needed. The context is also offline: the site must be self-contained, and on a
closed network a reference to `https://…` fails at once (an error in `console_errors`, a broken image)
instead of waiting on DNS or a proxy.

Limits, on purpose: an image counts as broken when `complete` is false or `naturalWidth == 0` after
load. A PNG whose header is valid but whose pixel data is corrupt or truncated keeps its size and is
drawn partially by Chromium, so it is not detected. A link to a directory is broken: from `file://` the
browser shows a listing, not `index.html`, so the site must link to `…/index.html` itself.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import pytest

REPO = Path(__file__).resolve().parents[2]

# Debian's /usr/bin/chromium is a shell wrapper that sources /etc/chromium.d: it adds
# --enable-remote-extensions and --load-extension, exports Google API keys, and on this machine its
# /dev/shm check fails with a shell error. The real binary behind it takes only the flags below.
CHROMIUM_PATHS: tuple[Path, ...] = (Path("/usr/lib/chromium/chromium"),)
INSTALL_HINT = "Chromium is not installed: run `sudo apt-get install chromium` (./scripts/test installs it)"

CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",  # tests run as root, where Chromium refuses to start with its sandbox
    "--disable-dev-shm-usage",  # /dev/shm can be small in containers: shared memory in /tmp instead
    "--disable-gpu",  # no GPU here: software rendering, no GPU process to start on 2 slow cores
    # Nothing phones home on the closed network (each would wait on a timeout or log errors):
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-field-trial-config",
    # No --disable-features here: Playwright passes its own list (OptimizationHints, MediaRouter,
    # NetworkTimeServiceQuerying, ...) and a second switch would replace it, not add to it.
    "--no-proxy-server",  # this network's proxy env vars must not route the browser anywhere
    "--no-pings",
    "--metrics-recording-only",  # metrics are recorded (a no-op) but never uploaded
    "--disable-breakpad",
    "--disable-crash-reporter",
    # No first-run UI, prompts or keyring (a keyring daemon would hang the launch):
    "--no-first-run",
    "--no-default-browser-check",
    "--no-service-autorun",
    "--password-store=basic",
    "--use-mock-keychain",
    "--disable-search-engine-choice-screen",
    "--mute-audio",
    "--hide-scrollbars",  # screenshots without a scrollbar, the same at every run
)
LAUNCH_TIMEOUT_MS = 60_000  # two slow cores: a cold start can take many seconds
PAGE_TIMEOUT_MS = 30_000
VIEWPORT = {"width": 1280, "height": 900}

# After `load` every eager image has finished; lazy ones too, as scripting is disabled. Waiting on
# `complete` anyway covers images whose decode ends just after the load event.
_IMAGES_SETTLED = "() => Array.from(document.images).every(img => img.complete)"
_IMAGES = """() => Array.from(document.images, img => ({
    src: img.getAttribute('src') ?? img.currentSrc,
    ok: img.complete && img.naturalWidth > 0,
}))"""
# `a.href` is the URL the browser resolved (against the page and any <base href>).
_LINKS = "() => Array.from(document.querySelectorAll('a[href]'), a => [a.getAttribute('href'), a.href])"

_HTML_SUFFIXES = {".html", ".htm", ".xhtml", ".svg"}  # targets whose ids a #fragment can name


@dataclass
class PageCheck:
    """What the browser found on one page. Lists keep document order; a repeated problem is repeated."""

    path: Path
    title: str
    broken_images: list[str]  # the `src` as written of each <img> that did not load or decode
    broken_links: list[str]  # the `href` as written of each internal link with a missing target or #fragment
    console_errors: list[str]  # console messages of type error ("text (url)") and uncaught page errors
    screenshot: Path
    images: int  # <img> elements on the page
    links: int  # internal links checked (http(s), mailto and other schemes are not counted)
    pdf: Path | None = field(default=None)  # print-to-PDF of the page: set for the first page only

    @property
    def problems(self) -> list[str]:
        """Every problem as one readable line: empty when the page is fine (for assertion messages)."""
        return (
            [f"{self.path.name}: broken image {src!r}" for src in self.broken_images]
            + [f"{self.path.name}: broken link {href!r}" for href in self.broken_links]
            + [f"{self.path.name}: console error {text}" for text in self.console_errors]
        )


def chromium_executable() -> Path:
    """The system Chromium binary; fails the calling test (never skips it) when there is none."""
    for path in CHROMIUM_PATHS:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return Path(found)


def artifacts_dir(name: str) -> Path:
    """An empty directory for a test's screenshots: `$HULLCHECK_TEST_ARTIFACTS/<name>`, else `.artifacts/<name>`.

    Emptied first, so that what is in it after a run was written by that run (`.artifacts/` is git-ignored).
    """
    safe = _safe_name(name)
    root = (
        Path(os.environ["HULLCHECK_TEST_ARTIFACTS"])
        if os.environ.get("HULLCHECK_TEST_ARTIFACTS")
        else REPO / ".artifacts"
    )
    path = root / safe
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def check_pages(pages: Sequence[Path], artifacts: Path) -> list[PageCheck]:
    """Load each page in one headless Chromium (JavaScript disabled, offline) and check it.

    Per page: wait for `load` and for every image to settle, read the title, the images and the links,
    save a full-page screenshot `<name>.png` in `artifacts`; the first page is also printed to `<name>.pdf`.
    `<name>` is the page's path relative to the pages' common directory, in safe characters.
    """
    executable = chromium_executable()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - a dev install always has it
        pytest.fail("the `playwright` package is missing: pip install -e '.[dev]'", pytrace=False)
    paths = [Path(page).resolve() for page in pages]
    names = _artifact_names(paths)
    artifacts.mkdir(parents=True, exist_ok=True)
    ids = _IdCache()
    results: list[PageCheck] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=list(CHROMIUM_ARGS), headless=True, timeout=LAUNCH_TIMEOUT_MS
        )
        try:
            context = browser.new_context(java_script_enabled=False, offline=True, viewport=VIEWPORT)  # type: ignore[arg-type]
            for index, (path, name) in enumerate(zip(paths, names, strict=True)):
                page = context.new_page()
                errors: list[str] = []
                page.on("console", lambda msg, errors=errors: _on_console(msg, errors))
                page.on("pageerror", lambda exc, errors=errors: errors.append(f"page error: {exc}"))
                page.goto(path.as_uri(), wait_until="load", timeout=PAGE_TIMEOUT_MS)
                page.wait_for_function(_IMAGES_SETTLED, timeout=PAGE_TIMEOUT_MS)
                images: list[dict[str, object]] = page.evaluate(_IMAGES)
                anchors: list[list[str]] = page.evaluate(_LINKS)
                screenshot = artifacts / f"{name}.png"
                page.screenshot(path=screenshot, full_page=True, timeout=PAGE_TIMEOUT_MS)
                pdf = None
                if index == 0:
                    pdf = artifacts / f"{name}.pdf"
                    page.pdf(path=pdf, print_background=True)
                internal = [(href, url) for href, url in anchors if urlsplit(url).scheme == "file"]
                results.append(
                    PageCheck(
                        path=path,
                        title=page.title(),
                        broken_images=[str(img["src"]) for img in images if not img["ok"]],
                        broken_links=[href for href, url in internal if not _link_ok(url, ids)],
                        console_errors=list(errors),  # complete: the screenshot round-trip came after load
                        screenshot=screenshot,
                        images=len(images),
                        links=len(internal),
                        pdf=pdf,
                    )
                )
                page.close()
            context.close()
        finally:
            browser.close()
    return results


def _on_console(message: object, errors: list[str]) -> None:
    """Keep console errors, with the URL they are about (a failed load's text does not name it)."""
    if getattr(message, "type", None) != "error":
        return
    text: str = message.text  # type: ignore[attr-defined]
    url = (message.location or {}).get("url")  # type: ignore[attr-defined]
    errors.append(f"{text} ({url})" if url else text)


def _link_ok(url: str, ids: _IdCache) -> bool:
    """Whether a file:// link's target exists and, for a #fragment into an HTML page, names an element."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):  # file://host/… is a network share: not part of the site
        return False
    target = Path(url2pathname(parts.path))
    if not target.is_file():
        return False
    fragment = parts.fragment
    # HTML: an empty fragment and "top" (any case) scroll to the top without naming an element.
    if not fragment or fragment.lower() == "top" or target.suffix.lower() not in _HTML_SUFFIXES:
        return True
    known = ids.get(target)
    return fragment in known or unquote(fragment) in known


class _IdCache:
    """The ids (and `<a name>`s, which fragments also match) of target pages, each parsed once."""

    def __init__(self) -> None:
        self._ids: dict[Path, set[str]] = {}

    def get(self, path: Path) -> set[str]:
        if path not in self._ids:
            parser = _IdParser()
            parser.feed(path.read_text(encoding="utf-8", errors="replace"))
            parser.close()
            self._ids[path] = parser.ids
        return self._ids[path]


class _IdParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if value is not None and (key == "id" or (key == "name" and tag == "a")):
                self.ids.add(value)


def _safe_name(text: str) -> str:
    """Letters, digits, `.`, `_` and `-` only, no leading dot, at most 100 characters."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", text).lstrip(".")[:100]
    return safe or "page"


def _artifact_names(paths: Sequence[Path]) -> list[str]:
    """One distinct file stem per page, from its path relative to the pages' common directory."""
    if not paths:
        return []
    common = Path(os.path.commonpath([path.parent for path in paths]))
    names: list[str] = []
    for path in paths:
        base = _safe_name(path.relative_to(common).with_suffix("").as_posix().replace("/", "__"))
        name, n = base, 1
        while name in names:  # the same page twice, or a/b.html next to a_b.html
            n += 1
            name = f"{base}-{n}"
        names.append(name)
    return names
