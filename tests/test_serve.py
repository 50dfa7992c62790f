"""`python build.py serve`: a subprocess on a free port, driven over HTTP and by Debian's Chromium.

The live-reload test skips locally when /usr/bin/chromium (or $BRIEFKIT_CHROMIUM) is missing and
fails when CI is set. The browser runs in a thread of its own (Playwright's sync API refuses to
start in a thread where another module's sync Playwright runs). Every wait is bounded, and the
server is always terminated by the fixture's finalizer.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

import lxml.html

from briefkit.serve import State, host_allowed, inject, origin_allowed, overlay_html, resolve_path
from conftest import EXAMPLE, REPO, build_ok

SLUG = "veloria-karsk-harbour-talks"
START_TIMEOUT = 60.0


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


def get(server: Server, path: str, host: str | None = None, headers: dict[str, str] | None = None,
        hosts: list[str] | None = None, timeout: float = 10) -> tuple[int, bytes]:
    """A GET with the path sent exactly as written, the given Host header (or `hosts`: any
    number of them) and `headers`."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        for value in (hosts if hosts is not None else [host or f"127.0.0.1:{server.port}"]):
            connection.putheader("Host", value)
        for key, value in (headers or {}).items():
            connection.putheader(key, value)
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
    assert b'<script src="/__briefkit/live.js" data-version="1" data-search="0"></script>' in page
    assert b"<script>" not in page  # no inline script
    state.publish([])
    assert b"briefkit-overlay" not in inject(b"<body></body>", state)


def test_overlay_needs_no_inline_style_or_script():
    """Pages carry `default-src 'self'; script-src 'self'`: the overlay uses an external stylesheet."""
    state = State()
    state.publish(["a.yaml:1:1: error: one", "b.yaml:2:2: error: two"])
    doc = lxml.html.document_fromstring(inject(b"<!doctype html><html><head></head><body><p>x</p></body></html>",
                                               state))
    assert doc.xpath("//*[@style]") == [] and doc.xpath("//style") == []
    assert [s.get("src") for s in doc.xpath("//script")] == ["/__briefkit/live.js"]
    assert not [a for el in doc.iter() for a in el.attrib if a.lower().startswith("on")]
    assert [l.get("href") for l in doc.xpath("//link[@rel='stylesheet']")] == ["/__briefkit/overlay.css"]
    assert [p.text for p in doc.xpath("//*[@id='briefkit-overlay']//pre")] == ["a.yaml:1:1: error: one",
                                                                              "b.yaml:2:2: error: two"]


@pytest.mark.parametrize("origin, fetch_site, ok", [
    (None, None, True), (None, "same-origin", True), (None, "none", True),
    ("http://127.0.0.1:8000", None, True), ("http://localhost:8000", "same-origin", True),
    ("http://[::1]:8000", None, True), ("HTTP://LOCALHOST:8000", None, True),
    ("http://evil.example", None, False), ("http://evil.example:8000", None, False), ("null", None, False),
    ("http://localhost:8001", None, False), ("https://localhost:8000", None, False),
    ("http://127.0.0.1:8000.evil.example", None, False), ("http://localhost:8000/", None, False),
    (None, "cross-site", False), (None, "same-site", False), ("http://localhost:8000", "cross-site", False),
    ("", None, False),
])
def test_origin_allowed(origin, fetch_site, ok):
    assert origin_allowed(origin, fetch_site, 8000) is ok


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


@pytest.mark.parametrize("host", [
    "evil.example", "evil.example:80", "evil.example:PORT", "127.0.0.1:1", "localhost", "localhost.:PORT",
    "127.0.0.1.nip.io:PORT", "localhost.evil.example:PORT", "127.1:PORT", "2130706433:PORT", "0.0.0.0:PORT",
    "[::ffff:127.0.0.1]:PORT", "localhost:PORT@evil.example", "", "  ",
])
def test_foreign_host_gets_400(served, host):
    """DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends `Host: evil.example`."""
    status, body = get(served, "/", hosts=[host.replace("PORT", str(served.port))])
    assert status == 400 and b"data-article" not in body


@pytest.mark.parametrize("hosts", [[], ["127.0.0.1:PORT", "evil.example"], ["evil.example", "127.0.0.1:PORT"]])
def test_missing_or_repeated_host_gets_400(served, hosts):
    status, _ = get(served, "/", hosts=[h.replace("PORT", str(served.port)) for h in hosts])
    assert status == 400


SECRET = "briefkit-secret-7f3c9a"

# Each one tries to reach secret.txt, which sits next to the output folder (or a system file).
TRAVERSALS = [
    "/../secret.txt",                                  # plain
    "/briefings/../../secret.txt",
    "/%2e%2e/secret.txt",                              # percent-encoded
    "/%2E%2E%2Fsecret.txt",
    "/.%2e/.%2e/secret.txt",
    "/%252e%252e/secret.txt",                          # double-encoded
    "/%252e%252e%252fsecret.txt",
    "/..%5csecret.txt",                                # backslashes
    "/..\\secret.txt",
    "/briefings\\..\\..\\secret.txt",
    "/..%255csecret.txt",
    "{secret}",                                        # absolute paths
    "/{secret}",
    "{secret_no_slash}",
    "file://{secret}",
    "http://127.0.0.1:{port}/../secret.txt",           # absolute-form request target
    "/..;/secret.txt",                                 # Tomcat-style path parameters
    "/briefings/..;/..;/secret.txt",
    "/..%00/secret.txt",                               # NUL
    "/index.html%00/../../secret.txt",
    "/%c0%ae%c0%ae/secret.txt",                        # overlong UTF-8
    "/..%c0%afsecret.txt",
    "/%e0%80%ae%e0%80%ae/secret.txt",
    "/%ef%bc%8e%ef%bc%8e/secret.txt",                  # fullwidth full stops
    "/%u002e%u002e/secret.txt",                        # IIS-style
    "/C:/../secret.txt",                               # Windows drive letters
    "/C:%5c..%5csecret.txt",
    "/c:\\windows\\win.ini",
    "/....//secret.txt",
    "/../../../../../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/" + "a" * 5000,                                  # longer than any file name
]


@pytest.mark.parametrize("payload", TRAVERSALS)
def test_traversal_payloads_reach_nothing_outside_the_output(served, payload):
    secret = served.out.parent / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    path = payload.format(secret=secret, secret_no_slash=str(secret).lstrip("/"), port=served.port)
    status, body = get(served, path)
    assert status in (400, 404), (status, body[:200])
    assert SECRET.encode() not in body and b"root:" not in body


@pytest.mark.parametrize("path, location", [
    ("/briefings", "/briefings/"), ("/briefings?x=1", "/briefings/?x=1"),
    ("////briefings", "/briefings/"), ("///briefings", "/briefings/"),
])
def test_folder_redirect_stays_on_this_site(served, path, location):
    """`Location: //briefings/` would be a protocol-relative link to a host called briefings."""
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", f"127.0.0.1:{served.port}")
        connection.endheaders()
        response = connection.getresponse()
        response.read()
        assert (response.status, response.getheader("Location")) == (301, location)
    finally:
        connection.close()


def test_traversal_never_crashes_the_server(served):
    """Every payload got an answer above (a 404 page), and none printed a traceback."""
    for payload in ("/%c0%ae%c0%ae/x", "/" + "b" * 5000, "/%ff"):
        status, body = get(served, payload)
        assert status == 404 and b"__briefkit/live.js" in body
    assert "Traceback" not in served.output()


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"}, {"Origin": "null"}, {"Origin": "http://localhost:1"},
    {"Origin": "http://127.0.0.1.evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
    {"Origin": "OWN", "Sec-Fetch-Site": "cross-site"},
])
@pytest.mark.parametrize("path", ["/__briefkit/wait?v=stale", "/__briefkit/live.js", "/__briefkit/overlay.css"])
def test_live_endpoints_refuse_foreign_origins(served, path, headers):
    headers = {k: v.replace("OWN", f"http://127.0.0.1:{served.port}") for k, v in headers.items()}
    status, body = get(served, path, headers=headers)
    assert status == 403 and b"version" not in body and b"reload" not in body


@pytest.mark.parametrize("headers", [{}, {"Sec-Fetch-Site": "same-origin"}, {"Origin": "OWN"},
                                     {"Origin": "http://localhost:PORT", "Sec-Fetch-Site": "same-origin"}])
def test_live_endpoint_answers_its_own_pages(served, headers):
    headers = {k: v.replace("OWN", f"http://127.0.0.1:{served.port}").replace("PORT", str(served.port))
               for k, v in headers.items()}
    status, body = get(served, "/__briefkit/wait?v=stale", headers=headers)
    assert status == 200 and isinstance(json.loads(body)["version"], int)


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_listens_on_the_loopback_only(served):
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs /proc/net/tcp (Linux)")
    assert listening_addresses(served.port) == {"0100007F"}  # 127.0.0.1, little-endian hex
    assert "not a loopback address" not in served.output()




CSP = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'"
# Records the policy violations caused by the live preview's own additions.
VIOLATIONS_SCRIPT = """
window.__briefkitViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  var target = e.target && e.target.closest ? e.target.closest("#briefkit-overlay") : null;
  if (target || String(e.blockedURI).indexOf("__briefkit") >= 0 || String(e.sourceFile).indexOf("__briefkit") >= 0) {
    window.__briefkitViolations.push(e.violatedDirective + " " + e.blockedURI);
  }
});
"""


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
    # The pages' Content-Security-Policy (as a header here, whatever the templates carry): the
    # overlay and the live reload must work under it.
    context.route("**/*", lambda route: route.fulfill(
        response=(response := route.fetch()),
        headers={**response.headers, "content-security-policy": CSP}) if route.request.resource_type == "document"
        else route.continue_())
    context.add_init_script(VIOLATIONS_SCRIPT)
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
        # Styled by the external stylesheet, which the policy allows: it covers the page.
        assert overlay.evaluate("e => getComputedStyle(e).position") == "fixed"
        assert overlay.evaluate("e => getComputedStyle(e.querySelector('pre')).whiteSpace") == "pre-wrap"
        assert page.evaluate("window.__briefkitViolations") == []
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
        assert page.evaluate("window.__briefkitViolations") == []
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
        assert "warning: --host 0.0.0.0 is not a loopback address" in server.output()
        port = int(re.search(r"on http://localhost:(\d+)/", server.output()).group(1))
        if Path("/proc/net/tcp").exists():
            assert listening_addresses(port) == {"00000000"}  # every IPv4 address, as asked
        server.port = port
        status, _ = get(server, "/")  # ...and still only for a loopback Host
        assert status == 200
        assert get(server, "/", host=f"192.0.2.1:{port}")[0] == 400
    finally:
        stop_server(server)


def test_usage_errors_exit_2(tmp_path):
    result = subprocess.run([sys.executable, "build.py", "serve", "--src", str(tmp_path / "missing"),
                             "--out", str(tmp_path / "out"), "--port", "0"], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "does not exist" in result.stderr


# --- load: readers while the author keeps saving ---------------------------------------------

CLIENTS = 50
SAVES = 200
SAVING_SECONDS = 10.0
INJECTED = re.compile(rb'(<link rel="stylesheet" href="/__briefkit/overlay.css">.*?</div>)?'
                      rb'<script src="/__briefkit/live.js" data-version="\d+" data-search="\d+"></script>', re.S)


def test_many_readers_while_the_author_saves(tmp_path):
    """50 clients read pages and long-poll the live endpoint while 200 saves happen in 10 s:
    no crash, no 5xx, no dropped connection; then the served page is the final content's."""
    server = start_server(tmp_path)
    annotations = server.src / SLUG / "annotations.yaml"
    page_path = f"/briefings/{SLUG}/"
    paths = [page_path, "/", "/actors/", "/assets/style.css", "/feed.xml", "/search/", "/no-such-page/"]
    statuses: Counter = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    saving, polling = threading.Event(), threading.Event()
    saving.set()
    polling.set()  # until the last save: a poll after the last rebuild would wait its full 25 s

    def reader(number: int) -> None:
        version, turn = "0", number
        while saving.is_set():
            turn += 1
            poll = turn % 4 == 0 and polling.is_set()
            path = f"/__briefkit/wait?v={version}" if poll else paths[turn % len(paths)]
            try:
                status, body = get(server, path, timeout=30)
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    failures.append(f"{path}: {type(exc).__name__}: {exc}")
                continue
            if path.startswith("/__briefkit/wait") and status == 200:
                version = str(json.loads(body)["version"])
            with lock:
                statuses["poll" if poll else "missing" if path == "/no-such-page/" else "page", status] += 1

    try:
        readers = [threading.Thread(target=reader, args=(n,), daemon=True) for n in range(CLIENTS)]
        for thread in readers:
            thread.start()
        started = time.monotonic()
        for number in range(SAVES):
            time.sleep(max(0.0, started + number * SAVING_SECONDS / SAVES - time.monotonic()))
            set_line(annotations, "title:", f"title: Harbour talks, save {number}")
        saved_in = time.monotonic() - started
        polling.clear()
        time.sleep(1.0)  # the readers go on while the last saves are built
        saving.clear()
        for thread in readers:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in readers)

        final = f"Harbour talks, save {SAVES - 1}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, body = get(server, page_path)
            if final.encode() in body and b"briefkit-overlay" not in body:
                break
            time.sleep(0.2)
        served_page = INJECTED.sub(b"", body, count=1)
        build_ok(server.src, tmp_path / "check")
        expected = (tmp_path / "check" / "briefings" / SLUG / "index.html").read_bytes()
        log = server.output()
        builds = len(re.findall(r"^(rebuilt|build failed)", log, re.M))
        print(f"\n{CLIENTS} clients, {SAVES} saves in {saved_in:.1f} s, {builds} rebuilds: "
              f"{sum(statuses.values())} responses {dict(sorted(statuses.items()))}, {len(failures)} failures")
        assert status == 200 and served_page == expected, "the served page is not the final content's"
        assert server.process.poll() is None, "the server stopped"
        assert not failures, failures[:5]
        assert set(statuses) <= {("page", 200), ("poll", 200), ("missing", 404)}, statuses
        assert statuses["page", 200] > CLIENTS and statuses["poll", 200] > CLIENTS, statuses
        assert saved_in < SAVING_SECONDS + 2
        assert "Traceback" not in log, log[-3000:]
    finally:
        saving.clear()
        stop_server(server)


def test_an_edit_rewrites_only_the_changed_files_and_the_search_index_follows(tmp_path):
    """Serve writes an edit's changed files in place (the others keep their inode), deletes the
    files of a removed briefing, and then swaps in a search index the search page's poll hears of."""
    server = start_server(tmp_path)
    try:
        out = server.out
        other = next(p.name for p in server.src.iterdir() if p.is_dir() and p.name != SLUG)
        untouched = out / "briefings" / other / "index.html"
        inode = untouched.stat().st_ino
        bundle = (out / "pagefind").stat().st_ino
        status, body = get(server, "/__briefkit/wait?v=x&s=x")
        version, search = json.loads(body)["version"], json.loads(body)["search"]
        set_line(server.src / SLUG / "annotations.yaml", "title:", "title: Harbour talks, renamed in place")
        # The long poll answers within its 25 s; the socket waits longer than that.
        status, body = get(server, f"/__briefkit/wait?v={version}&s={search}", timeout=30)  # the pages first...
        deadline = time.monotonic() + 30
        while json.loads(body)["search"] == search and time.monotonic() < deadline:  # ...then the index
            status, body = get(server, f"/__briefkit/wait?v={json.loads(body)['version']}&s={search}", timeout=30)
        assert json.loads(body)["search"] == search + 1
        assert "renamed in place" in (out / "briefings" / SLUG / "index.html").read_text(encoding="utf-8")
        assert untouched.stat().st_ino == inode  # not written again
        assert (out / "pagefind").stat().st_ino != bundle  # a new bundle, swapped in whole
        assert not list(out.parent.glob(".public.tmp-*"))  # no temporary folder left beside the site
        shutil.rmtree(server.src / other)
        deadline = time.monotonic() + 30
        while (out / "briefings" / other).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not (out / "briefings" / other).exists()
        assert "rebuilt" in server.output() and "Traceback" not in server.output()
    finally:
        stop_server(server)
