"""Link health: `check --links` against a local HTTP server on 127.0.0.1 (no other network)."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import make_content

from briefkit.cli import main
from briefkit.links import Settings, check_all, link_diagnostics


class Handler(BaseHTTPRequestHandler):
    counts: Counter = Counter()
    lock = threading.Lock()

    def log_message(self, *args) -> None:  # keep the test output clean
        pass

    def answer(self, method: str) -> None:
        with self.lock:
            self.counts[(method, self.path)] += 1
        path = self.path
        if path == "/slow":
            time.sleep(2.5)  # well past the tests' timeout, even on a loaded machine
        if path == "/reset":
            # SO_LINGER 0: closing sends a TCP reset instead of a clean end.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return
        status, headers = {
            "/ok": (200, {}), "/slow": (200, {}), "/gone": (404, {}), "/broken": (500, {}),
            "/moved": (301, {"Location": "/ok"}), "/elsewhere": (302, {"Location": "/ok"}),
            "/no-head": (405 if method == "HEAD" else 200, {}),
        }.get(path, (404, {}))
        self.send_response(status)
        for key, value in {**headers, "Content-Length": "2"}.items():
            self.send_header(key, value)
        self.end_headers()
        if method == "GET":
            self.wfile.write(b"ok")

    def do_HEAD(self) -> None:  # noqa: N802 (http.server's names)
        self.answer("HEAD")

    def do_GET(self) -> None:  # noqa: N802
        self.answer("GET")

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass  # the reset connection


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


ANNOTATIONS = """
title: Talks
date: 2025-08-14
summary: Talks.
source:
  url: {base}/ok
context:
{links}
"""


def content_with(tmp_path, base: str, paths: list[str]):
    links = "".join(f"  - title: Link {i}\n    url: {base}{path}\n" for i, path in enumerate(paths, 1))
    return make_content(tmp_path, {"talks/annotations.yaml": ANNOTATIONS.format(base=base, links=links),
                                   "talks/article.txt": "Nothing to quote.\n"})


def fast(tmp_path, **changes) -> Settings:
    values = dict(timeout=1.0, retries=1, retry_pause=0.01, cache=tmp_path / "cache" / "links.json")
    values.update(changes)
    return Settings(**values)


def test_each_kind_of_answer(tmp_path, server):
    paths = ["/ok", "/moved", "/elsewhere", "/gone", "/no-head", "/slow", "/reset", "/broken"]
    src = content_with(tmp_path, server, paths)
    found = link_diagnostics(src, "content", fast(tmp_path))
    lines = {d.line: (d.severity, d.code, d.message) for d in found}
    line = {path: 8 + 2 * i for i, path in enumerate(paths)}  # each link's `url:` line
    assert lines[line["/moved"]] == ("warning", "link-redirected",
                                     f"context link '{server}/moved' has moved (301) to '{server}/ok'")
    assert lines[line["/gone"]] == ("warning", "link-dead", f"context link '{server}/gone' is broken (HTTP 404)")
    assert lines[line["/broken"]] == ("warning", "link-dead",
                                      f"context link '{server}/broken' is broken (HTTP 500)")
    assert lines[line["/slow"]] == ("warning", "link-unreachable",
                                    f"context link '{server}/slow' could not be reached (timed out after 2 tries)")
    severity, code, message = lines[line["/reset"]]
    assert code == "link-unreachable" and message.startswith(f"context link '{server}/reset' could not be reached (")
    # Fine: 200, a temporary redirect, and 405 on HEAD answered by GET; the source URL too.
    assert set(lines) == {line[p] for p in ("/moved", "/gone", "/broken", "/slow", "/reset")}
    assert Handler.counts[("GET", "/no-head")] >= 1
    assert Handler.counts[("HEAD", "/broken")] >= 2  # a 5xx is tried again
    assert all(d.path == "content/talks/annotations.yaml" and d.column == 10 for d in found)


def test_the_cache_is_used_within_its_ttl(tmp_path, server):
    urls = [f"{server}/ok", f"{server}/gone", f"{server}/reset"]
    clock = [1_000_000.0]
    settings = fast(tmp_path, ttl_hours=1)
    before = Counter(Handler.counts)
    first = check_all(urls, settings, now=lambda: clock[0])
    assert first[urls[0]].status == 200 and first[urls[1]].status == 404 and first[urls[2]].status is None
    cached = json.loads(settings.cache.read_text())["links"]
    assert sorted(cached) == sorted(urls[:2])  # a network failure is never cached
    asked = Counter(Handler.counts)
    clock[0] += 3500  # within the hour: the cached answers are used, the failure is asked again
    second = check_all(urls, settings, now=lambda: clock[0])
    assert second[urls[0]] == first[urls[0]] and second[urls[1]] == first[urls[1]]
    again = Counter(Handler.counts)
    assert again[("HEAD", "/ok")] == asked[("HEAD", "/ok")] and again[("HEAD", "/gone")] == asked[("HEAD", "/gone")]
    assert again[("HEAD", "/reset")] > asked[("HEAD", "/reset")]
    clock[0] += 200  # past the hour: asked again
    check_all(urls[:1], settings, now=lambda: clock[0])
    assert Handler.counts[("HEAD", "/ok")] == again[("HEAD", "/ok")] + 1
    assert asked[("HEAD", "/ok")] == before[("HEAD", "/ok")] + 1


def test_a_damaged_cache_is_ignored(tmp_path, server):
    settings = fast(tmp_path)
    settings.cache.parent.mkdir(parents=True)
    settings.cache.write_text("{not json")
    assert check_all([f"{server}/ok"], settings)[f"{server}/ok"].status == 200
    assert json.loads(settings.cache.read_text())["version"] == 1


def test_check_links_on_the_command_line(tmp_path, server, monkeypatch, capsys):
    content_with(tmp_path, server, ["/ok", "/gone"])
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--src", "content", "--links"]) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        f"content/talks/annotations.yaml:10:10: warning: context link '{server}/gone' is broken (HTTP 404)\n"
        f"        url: {server}/gone\n"
        "             ^\n"
        "    hint: update or remove the link, or link to an archived copy\n")
    assert captured.out.startswith("checked 1 briefing (0 quotes verified): 1 warning, 0 errors")
    assert (tmp_path / ".briefkit-cache" / "links.json").is_file()
    assert main(["check", "--src", "content", "--links", "--strict"]) == 1
    assert capsys.readouterr().err.endswith("check failed: 0 errors, 1 warning (--strict: warnings count as errors)\n")
    requests = sum(Handler.counts.values())
    assert main(["check", "--src", "content"]) == 0  # without --links: no warning, no request
    assert capsys.readouterr().err == "" and sum(Handler.counts.values()) == requests
