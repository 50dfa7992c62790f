"""Fixtures for the browser tests: the example site built once, served on 127.0.0.1, and
Debian's Chromium driven by Playwright.

The tools come from the system and from package-lock.json, never from a download at test
time: /usr/bin/chromium (Debian's `chromium`), `java` (for the Nu HTML checker) and
node_modules/ (`npm ci`, run by `make test`). `.ci/run` installs all of them.

Locally a missing tool skips the tests that need it (so `make test` works on any machine);
when CI is set, a missing tool fails them: `need()` is the one place that decides.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import CHROMIUM, CHROMIUM_ARGS, EXAMPLE, REPO, build_ok, in_ci  # tests/conftest.py

NODE_MODULES = REPO / "node_modules"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
LIGHTHOUSE = NODE_MODULES / ".bin" / "lighthouse"


def need(condition: object, message: str) -> None:
    """Skip the test (locally) or fail it (when CI is set) unless `condition` holds."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"{message} (CI is set, so this fails instead of skipping; .ci/run installs it)", pytrace=False)
    pytest.skip(f"{message}; run .ci/run (as root) or `make test` to install it")


def need_chromium() -> None:
    need(CHROMIUM.exists(), f"Chromium not found at {CHROMIUM} (Debian package `chromium`)")


def need_java() -> str:
    java = shutil.which("java")
    need(java, "java not found (Debian package `default-jre-headless`), needed by the Nu HTML checker")
    return java


def need_npm_tool(path: Path, node: bool = False) -> Path:
    """An installed tool of node_modules; `node=True` if it runs on Node.js."""
    if node:
        need(shutil.which("node"), "node not found (Node.js runs Lighthouse)")
    need(path.exists(), f"{path.relative_to(REPO)} not found: run `npm ci` (make test does)")
    return path


# ---------------------------------------------------------------------------------------------
# The pages under test, by type. Briefings are read from the example's folders (collection
# happens before the build); the actor and the tag are picked from the built site.

def example_briefings() -> list[str]:
    return sorted(
        p.name for p in EXAMPLE.iterdir()
        if p.is_dir() and not p.name.startswith(("_", ".")) and (p / "annotations.yaml").exists()
    )


BRIEFINGS = example_briefings()
# The search page is under test once its template exists (the Pagefind work adds it).
HAS_SEARCH = (REPO / "templates" / "search.html").exists()

# Page kinds in the order the tests list them; "briefing" stands for the first briefing.
PAGE_KINDS = ["index", "briefing", "actor", "actors", "tag", "tags", "timeline",
              *(["search"] if HAS_SEARCH else []), "404"]
# Every page type, with each briefing on its own.
ALL_PAGES = ["index", *(f"briefing:{slug}" for slug in BRIEFINGS), "actor", "actors", "tag", "tags",
             "timeline", *(["search"] if HAS_SEARCH else []), "404"]


@dataclass(frozen=True)
class Site:
    root: Path  # the built site
    url: str    # where it is served, ending in "/"

    def path(self, kind: str) -> str:
        """The site-relative path of a page kind ("index", "briefing", "briefing:<slug>", ...)."""
        if kind == "index":
            rel = "index.html"
        elif kind == "briefing":
            rel = f"briefings/{BRIEFINGS[0]}/index.html"
        elif kind.startswith("briefing:"):
            rel = f"briefings/{kind.split(':', 1)[1]}/index.html"
        elif kind in ("actor", "tag"):
            folder = self.root / f"{kind}s"
            first = sorted(p.name for p in folder.iterdir() if (p / "index.html").is_file())
            assert first, f"the built site has no {kind} page under {folder}"
            rel = f"{kind}s/{first[0]}/index.html"
        elif kind in ("actors", "tags", "timeline", "search"):
            rel = f"{kind}/index.html"
        elif kind == "404":
            rel = "404.html"
        else:
            raise ValueError(kind)
        assert (self.root / rel).is_file(), f"the built site has no {rel} (page kind {kind!r})"
        return rel

    def page_url(self, kind: str) -> str:
        return self.url + self.path(kind)

    def html_files(self) -> list[Path]:
        return sorted(self.root.rglob("*.html"))


class _Handler(http.server.SimpleHTTPRequestHandler):
    """A quiet static handler that answers unknown paths with the site's 404.html, as a real
    host would."""

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def send_error(self, code, message=None, explain=None):
        page = Path(self.directory) / "404.html"
        if code == 404 and page.is_file() and self.command in ("GET", "HEAD"):
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(body)
            return
        super().send_error(code, message, explain)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The example site (briefings/), built once with its own base_url."""
    out = tmp_path_factory.mktemp("browser") / "site"
    build_ok(EXAMPLE, out)
    return out


@pytest.fixture(scope="package")
def site(built_site) -> Site:
    """The built example served over HTTP on 127.0.0.1 (a free port) while tests/browser runs."""
    handler = functools.partial(_Handler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield Site(root=built_site, url=f"http://127.0.0.1:{server.server_address[1]}/")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="package")
def playwright_instance():
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright_instance):
    """Debian's Chromium, headless, launched once for tests/browser (never a downloaded browser).

    Package-scoped, so the sync Playwright stops when tests/browser is done: another sync
    Playwright cannot start in the same thread while one runs."""
    browser = playwright_instance.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def new_page(browser):
    """`new_page(**context_options)`: a page in a fresh browser context; all are closed after the test."""
    contexts = []

    def make(**options):
        context = browser.new_context(**options)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
