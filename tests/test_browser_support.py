"""The real-browser checker (`support.browser`) on tiny hand-written sites: it finds exactly what is broken.

A good site (two pages, anchors that exist, a PNG and an SVG image, a script that must not run) comes
back clean, with real screenshots and a PDF; a bad site comes back with each of its four faults (a
missing image, a corrupt PNG, a missing page, a missing anchor) and nothing else. Each test starts one
headless Chromium (about 2 s here).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from support import browser
from support.browser import artifacts_dir, check_pages

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png(width: int, height: int) -> bytes:
    """A valid RGB PNG (a gradient), written by hand: signature, IHDR, one zlib IDAT, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 128)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
    '<rect width="120" height="40" fill="#2a6"/><circle cx="20" cy="20" r="12" fill="#fff"/></svg>'
)


def page(title: str, body: str) -> str:
    """A whole HTML document around `body`."""
    head = f'<head><meta charset="utf-8"><title>{title}</title></head>'
    return f'<!doctype html>\n<html lang="en">{head}\n<body>{body}</body></html>\n'


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def test_good_site_is_clean_and_renders(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "img/chart.png": png(64, 48),
            "img/logo.svg": SVG,
            "index.html": page(
                "Index",
                '<h1 id="intro">Container builds</h1>' + "<p>" + "Text for the screenshot to show. " * 20 + "</p>"
                '<img src="img/chart.png" alt="chart"><img src="img/logo.svg" alt="logo">'
                '<a href="teams/ops.html">ops</a> <a href="teams/ops.html#details">details</a> '
                '<a href="teams/ops.html#legacy">an old-style anchor, &lt;a name&gt;</a> '
                '<a href="#intro">intro</a> <a href="index.html#top">top</a> '
                # Not internal, not counted: never loaded, even on this closed network.
                '<a href="https://example.invalid/">external</a> <a href="mailto:ops@example.invalid">mail</a>'
                # JavaScript is disabled: this must neither retitle the page nor log an error.
                '<script>document.title = "ran"; console.error("script ran");</script>',
            ),
            "teams/ops.html": page(
                "Ops", '<h2 id="details">Details</h2><a name="legacy"></a><a href="../index.html#intro">back</a>'
            ),
        },
    )
    index, ops = tmp_path / "index.html", tmp_path / "teams" / "ops.html"
    out = artifacts_dir("test_browser_support-good")

    first, second = check_pages([index, ops], out)

    assert first.problems == [] and second.problems == []
    assert (first.path, first.title, first.images, first.links) == (index, "Index", 2, 5)
    assert (second.path, second.title, second.images, second.links) == (ops, "Ops", 0, 1)
    assert first.screenshot == out / "index.png" and second.screenshot == out / "teams__ops.png"
    for check in (first, second):
        shot = check.screenshot.read_bytes()
        assert shot.startswith(PNG_SIGNATURE) and len(shot) > 1024, check.screenshot
    assert first.pdf == out / "index.pdf" and first.pdf.read_bytes().startswith(b"%PDF")
    assert second.pdf is None


def test_bad_site_reports_each_fault_exactly(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "ok.png": png(16, 16),
            "corrupt.png": b"\x89PNG\r\n\x1a\n" + b"this is not an IHDR chunk" * 4,
            "second.html": page("Second", '<p id="present">here</p>'),
            "index.html": page(
                "Bad",
                '<img src="ok.png"><img src="missing.png"><img src="corrupt.png">'
                '<a href="second.html">fine</a> <a href="second.html#present">fine anchor</a> '
                '<a href="nowhere.html">missing page</a> <a href="second.html#absent">missing anchor</a> '
                '<a href="#gone">missing anchor here</a> <a href="https://example.invalid/x.html">external</a>',
            ),
        },
    )
    out = artifacts_dir("test_browser_support-bad")

    [check] = check_pages([tmp_path / "index.html"], out)

    assert check.broken_images == ["missing.png", "corrupt.png"]
    assert check.broken_links == ["nowhere.html", "second.html#absent", "#gone"]
    # Chromium logs the failed load (not the undecodable image); its text does not name the file, the URL does.
    assert check.console_errors == [
        f"Failed to load resource: net::ERR_FILE_NOT_FOUND ({(tmp_path / 'missing.png').as_uri()})"
    ]
    assert (check.title, check.images, check.links) == ("Bad", 3, 5)
    assert check.screenshot.read_bytes().startswith(PNG_SIGNATURE)


def test_missing_chromium_fails_the_test_instead_of_skipping(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(browser, "CHROMIUM_PATHS", ())
    monkeypatch.setenv("PATH", str(tmp_path))  # no `chromium` on PATH either

    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        check_pages([tmp_path / "index.html"], tmp_path / "out")


def test_artifacts_dir_is_fresh_and_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HULLCHECK_TEST_ARTIFACTS", str(tmp_path / "shots"))
    stale = artifacts_dir("test[odd/name]") / "stale.png"
    stale.write_bytes(b"old run")

    path = artifacts_dir("test[odd/name]")

    assert path == tmp_path / "shots" / "test_odd_name_" and path.is_dir() and not stale.exists()
    monkeypatch.delenv("HULLCHECK_TEST_ARTIFACTS")
    default = artifacts_dir("test_browser_support-default")
    assert default == browser.REPO / ".artifacts" / "test_browser_support-default" and default.is_dir()
    default.rmdir()
