"""`python build.py serve`: a subprocess on a free port, driven over HTTP and by Debian's Chromium.

The live-reload test skips locally when /usr/bin/chromium (or $BRIEFKIT_CHROMIUM) is missing and
fails when CI is set. The browser runs in a thread of its own (Playwright's sync API refuses to
start in a thread where another module's sync Playwright runs). Every wait is bounded, and the
server is always terminated by the fixture's finalizer.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from briefkit.serve import State, host_allowed, inject, overlay_html, resolve_path
from conftest import EXAMPLE, REPO

CHROMIUM = Path(os.environ.get("BRIEFKIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SLUG = "veloria-karsk-harbour-talks"
START_TIMEOUT = 60.0


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@dataclass
class Server:
    process: subprocess.Popen
    src: Path
    out: Path
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_server(top: Path) -> Server:
    src = top / "content"
    shutil.copytree(EXAMPLE, src)
    out = top / "public"
    log = top / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "build.py", "serve", "--src", str(src), "--out", str(out), "--port", "0"],
            cwd=REPO, stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    server = Server(process, src, out, 0, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        found = re.search(r"on http://127\.0\.0\.1:(\d+)/", server.output())
        if found:
            server.port = int(found.group(1))
            return server
        if process.poll() is not None:
            break
        time.sleep(0.05)
    stop_server(server)
    pytest.fail(f"serve did not start within {START_TIMEOUT:.0f} s:\n{server.output()}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("serve"))
    try:
        yield server
    finally:
        stop_server(server)


def get(server: Server, path: str, host: str | None = None) -> tuple[int, bytes]:
    """A GET with the path sent exactly as written and the given Host header."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host or f"127.0.0.1:{server.port}")
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# --- unit tests: no server --------------------------------------------------------------------

@pytest.mark.parametrize("header, ok", [
    ("127.0.0.1:8000", True), ("localhost:8000", True), ("[::1]:8000", True), ("LOCALHOST:8000", True),
    ("127.0.0.1", False), ("127.0.0.1:8001", False), ("evil.example", False), ("evil.example:8000", False),
    ("localhost.evil.example:8000", False), ("192.168.1.2:8000", False), ("", False), (None, False),
])
def test_host_allowed(header, ok):
    assert host_allowed(header, 8000) is ok


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/site/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/.%2e/secret.txt",
    "/..%2fsecret.txt", "/..%2Fsecret.txt", "/..%5csecret.txt", "/..\\secret.txt", "/a/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/%252e%252e/secret.txt", "/./index.html", "/index.html%00", "/link/secret.txt",
])
def test_resolve_path_refuses_escapes(tmp_path, path):
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text("x")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "link").symlink_to(tmp_path)
    found = resolve_path(root, path)
    assert found is None or not found.exists(), (path, found)


def test_resolve_path_finds_files(tmp_path):
    root = tmp_path / "site"
    (root / "a b").mkdir(parents=True)
    assert resolve_path(root, "/") == root.resolve()
    assert resolve_path(root, "/a%20b/index.html?x=1#y") == (root / "a b" / "index.html").resolve()


def test_overlay_escapes_diagnostics():
    text = 'x.yaml:3:1: error: unknown key "<img src=x onerror=alert(1)>" & more'
    shown = overlay_html([text])
    assert "<img" not in shown and "&lt;img src=x onerror=alert(1)&gt;" in shown and "&amp; more" in shown
    state = State()
    state.publish([text])
    page = inject(b"<html><body><p>hi</p></body></html>", state)
    assert page.endswith(b"</body></html>") and b'id="briefkit-overlay"' in page
    assert b'<script src="/__briefkit/live.js" data-version="1"></script>' in page
    assert b"<script>" not in page  # no inline script
    state.publish([])
    assert b"briefkit-overlay" not in inject(b"<body></body>", state)


# --- the server in a subprocess ---------------------------------------------------------------

def test_serves_the_built_site(served):
    status, body = get(served, "/")
    assert status == 200 and b'src="/__briefkit/live.js"' in body
    assert not (served.out / "index.html").read_bytes().count(b"__briefkit")  # injected, not written
    status, body = get(served, f"/briefings/{SLUG}/", host=f"localhost:{served.port}")
    assert status == 200 and b"data-article" in body
    status, _ = get(served, "/assets/style.css", host=f"[::1]:{served.port}")
    assert status == 200
    status, body = get(served, "/no-such-page/")
    assert status == 404 and b"__briefkit/live.js" in body


@pytest.mark.parametrize("host", ["evil.example", f"evil.example:80", "127.0.0.1:1", "localhost"])
def test_foreign_host_gets_400(served, host):
    status, _ = get(served, "/", host=host)
    assert status == 400


@pytest.mark.parametrize("path", ["/../serve.log", "/../../etc/passwd", "/%2e%2e/serve.log", "/%2e%2e/%2e%2e/etc/passwd",
                                  "/briefings/%2e%2e/%2e%2e/serve.log", "/..%2fserve.log", "/..%5cserve.log",
                                  "/..\\serve.log", "/assets/..%2f..%2fserve.log"])
def test_traversal_gets_404(served, path):
    status, body = get(served, path)
    assert status == 404
    assert b"root:" not in body and b"serving" not in body


@pytest.fixture(scope="module")
def chromium():
    """`chromium(fn, *args)` runs `fn(browser, *args)` in the browser's thread and returns its result."""
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM} (Debian package `chromium`)"
        if in_ci():
            pytest.fail(message + "; CI is set, so this fails instead of skipping", pytrace=False)
        pytest.skip(message)
    thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="serve-browser")
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


def set_line(path: Path, prefix: str, new: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith(prefix))
    lines[index] = new + "\n"
    path.write_text("".join(lines), encoding="utf-8")


def live_session(browser, server: Server) -> None:
    annotations = server.src / SLUG / "annotations.yaml"
    original = annotations.read_text(encoding="utf-8")
    display = f"{server.src}/{SLUG}/annotations.yaml"
    context = browser.new_context()
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url + f"briefings/{SLUG}/index.html")
        page.wait_for_selector("h1")
        assert page.locator("#briefkit-overlay").count() == 0

        # An edit shows on the open page within 2 s, without a reload from here.
        set_line(annotations, "title:", "title: Harbour talks <b>renamed</b> live")
        page.wait_for_function("() => document.querySelector('h1').textContent.includes('renamed')", timeout=2_000)
        assert page.locator("h1").inner_text() == "Harbour talks <b>renamed</b> live"

        # Broken YAML: the last good page stays, under an overlay with file:line:column.
        set_line(annotations, "date:", 'date: "2025-08-14')
        overlay = page.locator("#briefkit-overlay")
        overlay.wait_for(state="visible", timeout=2_000)
        text = overlay.inner_text()
        assert f"{display}:2:7: error: invalid YAML" in text, text
        assert page.locator("h1").inner_text() == "Harbour talks <b>renamed</b> live"
        # ...on every page
        other = context.new_page()
        other.goto(server.url + "actors/index.html")
        assert f"{display}:2:7:" in other.locator("#briefkit-overlay").inner_text()
        other.close()

        # Fixed: the overlay goes on the next reload, which the server triggers.
        annotations.write_text(original, encoding="utf-8")
        overlay.wait_for(state="detached", timeout=2_000)
        page.wait_for_function("() => document.querySelector('h1').textContent.includes('open talks')", timeout=2_000)
        assert not errors, errors
    finally:
        context.close()
        annotations.write_text(original, encoding="utf-8")


def test_live_reload_and_error_overlay(served, chromium):
    chromium(live_session, served)
    output = served.output()
    assert f"{served.src}/{SLUG}/annotations.yaml:2:7: error: invalid YAML" in output  # terminal too
    assert "build failed: 1 error" in output and "Traceback" not in output


def test_warns_when_host_is_not_loopback(tmp_path):
    server = None
    log = tmp_path / "serve.log"
    shutil.copytree(EXAMPLE, tmp_path / "content")
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "build.py", "serve", "--src", str(tmp_path / "content"), "--out", str(tmp_path / "out"),
             "--host", "0.0.0.0", "--port", "0"], cwd=REPO, stdout=sink, stderr=subprocess.STDOUT)
    server = Server(process, tmp_path / "content", tmp_path / "out", 0, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and "serving" not in server.output() and process.poll() is None:
            time.sleep(0.05)
        assert "is not a loopback address" in server.output()
    finally:
        stop_server(server)


def test_usage_errors_exit_2(tmp_path):
    result = subprocess.run([sys.executable, "build.py", "serve", "--src", str(tmp_path / "missing"),
                             "--out", str(tmp_path / "out"), "--port", "0"], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "does not exist" in result.stderr
