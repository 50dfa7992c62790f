"""Shared helpers for the Briefkit tests: inline fixture sites, builds, HTML parsing.

The helpers are plain functions (import them with `from conftest import ...`) so that
module-scoped fixtures can use them too.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import shutil
import tempfile
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import lxml.html
import pytest
from hypothesis import HealthCheck, settings

# Property tests: at least 1,000 examples each in CI (CI=true), fewer for a quick local run.
# Override with HYPOTHESIS_PROFILE=ci|dev.
settings.register_profile("ci", max_examples=1000, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=150, deadline=None)
# The build cache goes to a throw-away folder, never the developer's ~/.cache (subprocess builds
# inherit it); tests about the cache set their own.
os.environ["BRIEFKIT_CACHE"] = tempfile.mkdtemp(prefix="briefkit-test-cache-")
atexit.register(shutil.rmtree, os.environ["BRIEFKIT_CACHE"], True)

settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE")
                      or ("ci" if os.environ.get("CI", "") not in ("", "0", "false") else "dev"))

from briefkit import cli

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "briefings"


def make_content(tmp_path: Path, files: dict[str, str], folder: str = "content") -> Path:
    """Write `files` (relative path -> text) under tmp_path/folder and return that folder.

    Each text is dedented and its first newline dropped, so tests can write YAML and
    articles as indented triple-quoted strings. Only spaces and tabs are dedented:
    non-breaking spaces and other characters stay as written.
    """
    root = tmp_path / folder
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = textwrap.dedent(text)
        if text.startswith("\n"):
            text = text[1:]
        path.write_text(text, encoding="utf-8")
    return root


def build_site(src: Path, out: Path, *args: str) -> tuple[int, str, str]:
    """Run `briefkit build --src SRC --out OUT ARGS...` in-process: (exit code, stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(["build", "--src", str(src), "--out", str(out), *args])
    return code, stdout.getvalue(), stderr.getvalue()


def build_ok(src: Path, out: Path, *args: str) -> str:
    """Build and fail the test with the diagnostics unless the build succeeds; returns stderr."""
    code, stdout, stderr = build_site(src, out, *args)
    assert code == 0, f"build failed with exit code {code}:\n{stderr}"
    return stderr


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (relative POSIX path -> bytes)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def parse_html(path: Path):
    """Parse an output page with lxml.html (the whole document)."""
    return lxml.html.document_fromstring(path.read_bytes())


def briefing_page(out: Path, slug: str):
    return parse_html(out / "briefings" / slug / "index.html")


def article_element(doc):
    """The single element with `data-article` (asserts there is exactly one)."""
    found = doc.xpath("//*[@data-article]")
    assert len(found) == 1, f"expected one data-article element, found {len(found)}"
    return found[0]


def text_of(elements) -> str:
    """The joined text content of elements, in order."""
    return "".join(el.text_content() for el in elements)


def quote_marks(doc, number: int | str):
    """The elements marking quote N inside the article, in document order."""
    return article_element(doc).xpath(f".//*[@data-quote='{number}']")


# A small valid briefing: a plain-text article with one quote and two actors.
SIMPLE_ANNOTATIONS = """
title: {title}
date: {date}
summary: {summary}
tags: [{tags}]
actors:
  - id: ada-lovelace
    name: Ada Lovelace
    kind: person
    role: Mathematician
    aliases: [Lovelace]
  - id: analytical-society
    name: Analytical Society
    kind: organization
quotes:
  - text: The engine weaves algebraic patterns
    speaker: ada-lovelace
timeline:
  - date: {date}
    text: {title}
"""

SIMPLE_ARTICLE = """
Ada Lovelace wrote to the Analytical Society on Monday.

"The engine weaves algebraic patterns," Lovelace said.
"""


def simple_briefing(slug: str, title: str = "A briefing", date: str = "2025-01-01",
                    summary: str = "What happened.", tags: str = "science") -> dict[str, str]:
    """The files of one small valid briefing, for `make_content`."""
    return {
        f"{slug}/annotations.yaml": SIMPLE_ANNOTATIONS.format(title=title, date=date, summary=summary, tags=tags),
        f"{slug}/article.txt": SIMPLE_ARTICLE,
    }


@pytest.fixture
def content(tmp_path):
    """`content({...})` writes a content folder in tmp_path and returns it."""
    return lambda files, folder="content": make_content(tmp_path, files, folder)


# --- Chromium, for the browser tests -----------------------------------------------------------

CHROMIUM = Path(os.environ.get("BRIEFKIT_CHROMIUM", "/usr/bin/chromium"))
# Chromium flags for a machine without a sandbox, a GPU or a network beyond the loopback: without
# the background-networking ones Chromium keeps trying to reach Google's hosts.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def chromium():
    """`chromium(fn, *args)` runs `fn(browser, *args)` in the browser's thread and returns its result.

    Skips when Chromium is missing, unless CI is set: then it fails (CI must run the browser tests)."""
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM} (Debian package `chromium`)"
        if in_ci():
            pytest.fail(message + "; CI is set, so this fails instead of skipping", pytrace=False)
        pytest.skip(message)
    thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
    state: dict = {}

    def start():
        from playwright.sync_api import sync_playwright

        state["playwright"] = sync_playwright().start()
        state["browser"] = state["playwright"].chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

    def stop():
        state["browser"].close()
        state["playwright"].stop()

    thread.submit(start).result(timeout=60)
    try:
        yield lambda fn, *args: thread.submit(fn, state["browser"], *args).result(timeout=120)
    finally:
        thread.submit(stop).result(timeout=60)
        thread.shutdown()
