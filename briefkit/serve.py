"""`python build.py serve`: build, serve the output folder on the loopback, rebuild on every save.

- Watching is watchfiles' (the content folder and the templates folder); every change runs the
  same checks as `python build.py build`, but hashes and checks again only the briefing folders
  reported changed (the site's indexes and the checks across briefings are updated for those
  alone), renders only the pages that depend on what changed and writes only the files whose
  bytes changed, each atomically (`incremental.py`). The search index follows in the background
  and is swapped in whole; the pages reload again when it is in place.
- Open pages load `/__briefkit/live.js` (injected into served HTML, never written to disk, no
  inline script): it long-polls `/__briefkit/wait` and reloads the page when a rebuild finished.
- A failed rebuild keeps the last good site, prints the diagnostics as `build` does, and shows
  them in an overlay injected into every served page until a rebuild succeeds. The overlay is
  styled by `/__briefkit/overlay.css` (no inline style or script: it works under the pages'
  Content-Security-Policy).
- Requests are answered only when their Host is localhost, 127.0.0.1 or [::1] with the
  server's port (else 400); paths are resolved inside the output folder only (else 404);
  `/__briefkit/` answers only the preview's own pages: a request with another `Origin`, or
  marked `Sec-Fetch-Site: cross-site` or `same-site` by the browser, gets 403.

MkDocs' LiveReloadServer was not used: it injects an inline script (a strict CSP is planned)
and has no place for the Host check, the overlay or the traversal rules below.
"""

from __future__ import annotations

import html
import http.server
import ipaddress
import json
import mimetypes
import signal
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .diagnostics import BriefkitError, ContentError, Diagnostic, UsageError
from .incremental import RenderCache, build_incremental
from .pipeline import BuildOptions
from .render import templates_dir

LIVE_PREFIX = "/__briefkit/"
POLL_SECONDS = 25.0
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
EXTRA_TYPES = {".xml": "application/xml", ".wasm": "application/wasm", ".js": "text/javascript",
               ".css": "text/css", ".json": "application/json", ".txt": "text/plain",
               ".svg": "image/svg+xml", ".webp": "image/webp", ".avif": "image/avif"}

LIVE_JS = b"""\
// Briefkit live preview (served by `briefkit serve` only): reload when a rebuild finished.
(function () {
  "use strict";
  var script = document.currentScript;
  var version = script ? script.getAttribute("data-version") : "0";
  // The search page also reloads when a new search index is in place (it follows the pages).
  var search = script ? script.getAttribute("data-search") : null;
  var searching = search !== null && new RegExp("/search/(index[.]html)?$").test(window.location.pathname);
  function poll() {
    fetch("/__briefkit/wait?v=" + encodeURIComponent(version) + (searching ? "&s=" + encodeURIComponent(search) : ""),
          {cache: "no-store"})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (String(data.version) !== String(version)) { window.location.reload(); return; }
        if (searching && String(data.search) !== String(search)) { window.location.reload(); return; }
        poll();
      })
      .catch(function () { window.setTimeout(poll, 1000); });
  }
  poll();
}());
"""


OVERLAY_CSS = b"""\
/* Briefkit live preview: the overlay that shows a failed rebuild's diagnostics. */
#briefkit-overlay { position: fixed; inset: 0; z-index: 2147483647; overflow: auto; box-sizing: border-box;
  background: rgba(20, 20, 20, .94); color: #fff; padding: 1.5em; font: 15px/1.4 sans-serif; text-align: left; }
#briefkit-overlay .briefkit-overlay-title { margin: 0 0 1em; font-weight: bold; color: #ff8a80; }
#briefkit-overlay pre { margin: 0 0 .75em; white-space: pre-wrap; font: 13px/1.4 monospace; color: #fff;
  background: none; border: 0; padding: 0; }
"""

# Browsers mark a request from another site's page (Sec-Fetch-Site); a plain navigation is "none".
OWN_FETCH_SITES = ("same-origin", "none")


class State:
    """The server's one piece of shared state: the build version and the current diagnostics."""

    def __init__(self) -> None:
        self.version = 0
        self.search = 0  # search indexes put in place (they follow the pages in the background)
        self.errors: list[str] = []  # formatted diagnostics of the failed rebuild, empty when good
        self.changed = threading.Condition()

    def publish(self, errors: list[str]) -> None:
        with self.changed:
            self.version += 1
            self.errors = errors
            self.changed.notify_all()

    def searched(self) -> None:
        """A new search index is in place: the search pages reload."""
        with self.changed:
            self.search += 1
            self.changed.notify_all()

    def wait(self, seen: str, timeout: float, seen_search: str | None = None) -> tuple[int, int]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while str(self.version) == seen and (seen_search is None or str(self.search) == seen_search):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.changed.wait(left)
            return self.version, self.search


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_allowed(header: str | None, port: int) -> bool:
    """True for a Host header naming the loopback (localhost, 127.0.0.1, [::1]) with our port."""
    if not header:
        return False
    header = header.strip().lower()
    for name in LOCAL_HOSTS:
        if header == f"{name}:{port}" or (port == 80 and header == name):
            return True
    return False


def origin_allowed(origin: str | None, fetch_site: str | None, port: int) -> bool:
    """True unless the browser says the request comes from a page that is not the preview's.

    No `Origin` and no `Sec-Fetch-Site` is a tool such as curl (the Host check still applies).
    """
    if fetch_site is not None and fetch_site.strip().lower() not in OWN_FETCH_SITES:
        return False
    if origin is None:
        return True
    origin = origin.strip().lower()
    return any(origin == f"http://{name}:{port}" or (port == 80 and origin == f"http://{name}")
               for name in LOCAL_HOSTS)


def resolve_path(root: Path, raw_path: str) -> Path | None:
    """The file of the output folder that a request path names, or None (-> 404).

    Refused: encoded slashes or backslashes, backslashes, NUL, any `.` or `..` segment (raw or
    percent-encoded), and anything that resolves (through symlinks too) outside `root`.
    """
    path = urlsplit(raw_path).path
    lowered = path.lower()
    if "%2f" in lowered or "%5c" in lowered or "\\" in path or "%00" in lowered:
        return None
    try:
        # Invalid UTF-8 (overlong forms such as %c0%ae) is refused, not decoded leniently.
        decoded = unquote(path, errors="strict") if "%" in path else path
    except UnicodeDecodeError:
        return None
    if "\\" in decoded or "\x00" in decoded or not decoded.startswith("/"):
        return None
    segments = decoded.split("/")[1:]
    if any(segment in (".", "..") for segment in segments):
        return None
    try:
        root_abs = root.resolve()
        candidate = (root_abs / "/".join(s for s in segments if s)).resolve()
    except (OSError, ValueError):  # a name too long for the system, say
        return None
    if candidate != root_abs and not candidate.is_relative_to(root_abs):
        return None
    return candidate


def overlay_html(errors: list[str]) -> str:
    """The error overlay: markup only (styled by overlay.css), every diagnostic escaped."""
    items = "".join(f"<pre>{html.escape(text)}</pre>" for text in errors)
    return (f'<link rel="stylesheet" href="{LIVE_PREFIX}overlay.css">'
            '<div id="briefkit-overlay" role="alert"><p class="briefkit-overlay-title">Briefkit: the last rebuild '
            "failed. This is the last good site; fix the content and save to rebuild.</p>"
            f"{items}</div>")


def inject(page: bytes, state: State) -> bytes:
    """Add the live-reload script (and the overlay when the content has errors) before </body>."""
    with state.changed:
        version, errors, search = state.version, list(state.errors), state.search
    snippet = (overlay_html(errors) if errors else "") + (
        f'<script src="{LIVE_PREFIX}live.js" data-version="{version}" data-search="{search}"></script>')
    data = snippet.encode("utf-8")
    at = page.lower().rfind(b"</body>")
    return page[:at] + data + page[at:] if at >= 0 else page + data


def make_handler(root: Path, state: State, port_ref: list[int]):
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "briefkit-serve"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
            pass  # quiet: the terminal is for build output

        def send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None,
                 head: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def do_HEAD(self) -> None:  # noqa: N802
            self.handle_get(head=True)

        def do_GET(self) -> None:  # noqa: N802
            self.handle_get(head=False)

        def handle_get(self, head: bool) -> None:
            hosts = self.headers.get_all("Host") or []
            if len(hosts) != 1 or not host_allowed(hosts[0], port_ref[0]):
                self.send(400, b"400 Bad Request: briefkit serve answers only requests for localhost, "
                          b"127.0.0.1 or [::1]\n", "text/plain; charset=utf-8", head=head)
                return
            if self.path.startswith(LIVE_PREFIX):
                if not origin_allowed(self.headers.get("Origin"), self.headers.get("Sec-Fetch-Site"), port_ref[0]):
                    self.send(403, b"403 Forbidden: the live preview answers only its own pages\n",
                              "text/plain; charset=utf-8", head=head)
                    return
                self.live(head)
                return
            target = resolve_path(root, self.path)
            parts = urlsplit(self.path)
            body, folder = None, False
            try:
                folder = target is not None and target.is_dir()
                if folder and parts.path.endswith("/"):
                    target, folder = target / "index.html", False
                if target is not None and not folder and target.is_file():
                    body = target.read_bytes()
            except OSError:  # missing, or a name the system refuses
                body = None
            if folder:
                # One leading slash (http.server collapses them too): `//host/folder/` would send the
                # browser to another site.
                location = "/" + parts.path.lstrip("/") + "/" + (f"?{parts.query}" if parts.query else "")
                self.send(301, b"", "text/plain", {"Location": location}, head=head)
                return
            if target is None or body is None:
                self.not_found(head)
                return
            self.file(200, target, body, head)

        def file(self, status: int, target: Path, body: bytes, head: bool) -> None:
            suffix = target.suffix.lower()
            content_type = EXTRA_TYPES.get(suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            if suffix in (".html", ".htm"):
                body = inject(body, state)
                content_type = "text/html"
            if content_type.startswith("text/") or content_type in ("application/xml", "application/json"):
                content_type += "; charset=utf-8"
            self.send(status, body, content_type, head=head)

        def not_found(self, head: bool) -> None:
            page = root.resolve() / "404.html"
            try:
                self.file(404, page, page.read_bytes(), head)
            except OSError:
                self.send(404, inject(b"<!doctype html><title>Not found</title><body><p>Not found</p></body>",
                                      state), "text/html; charset=utf-8", head=head)

        def live(self, head: bool) -> None:
            parts = urlsplit(self.path)
            if parts.path == LIVE_PREFIX + "live.js":
                self.send(200, LIVE_JS, "text/javascript; charset=utf-8", head=head)
            elif parts.path == LIVE_PREFIX + "overlay.css":
                self.send(200, OVERLAY_CSS, "text/css; charset=utf-8", head=head)
            elif parts.path == LIVE_PREFIX + "wait":
                query = parse_qs(parts.query)
                version, search = state.wait(query.get("v", [""])[0], 0 if head else POLL_SECONDS,
                                             query.get("s", [None])[0])
                self.send(200, json.dumps({"version": version, "search": search}).encode(), "application/json",
                          head=head)
            else:
                self.not_found(head)

    return Handler


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:
        """A page that reloads drops its pending long-poll: not worth a traceback."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def make_server(host: str, port: int, handler) -> Server:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    Server.address_family = family
    try:
        return Server((host, port), handler)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def print_failure(diagnostics: list[Diagnostic], strict: bool, out: Path) -> None:
    from .cli import count, print_diagnostics  # noqa: PLC0415 (cli imports this module lazily)
    print_diagnostics(diagnostics)
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    note = " (--strict: warnings count as errors)" if strict and warnings else ""
    print(f"build failed: {count(errors, 'error')}, {count(warnings, 'warning')}{note}; "
          f"serving the last good site from {out}", file=sys.stderr, flush=True)


def run_build(options: BuildOptions, state: State, cache: RenderCache, first: bool) -> None:
    """Build; publish the result (clean, or the diagnostics for the overlay)."""
    from .cli import count, print_diagnostics  # noqa: PLC0415
    started = time.perf_counter()
    try:
        result = build_incremental(options, cache)
    except ContentError as exc:
        print_failure(exc.diagnostics, options.strict, options.out)
        state.publish([d.format() for d in exc.diagnostics if d.severity == "error" or options.strict])
        return
    except UsageError:
        if first:
            raise
        message = str(sys.exc_info()[1])
        print(f"briefkit: error: {message}", file=sys.stderr, flush=True)
        state.publish([f"error: {message}"])
        return
    except Exception as exc:  # a template being edited, say: report it, keep serving
        if first and isinstance(exc, BriefkitError):
            raise
        where = ""
        filename, lineno = getattr(exc, "filename", None), getattr(exc, "lineno", None)
        if filename and lineno:
            where = f"{filename}:{lineno}: "
        text = f"{where}error: {type(exc).__name__}: {exc}"
        print(f"briefkit: {text}", file=sys.stderr, flush=True)
        traceback.print_exc(limit=3, file=sys.stderr)
        state.publish([text])
        return
    print_diagnostics(result.diagnostics)
    took = (time.perf_counter() - started) * 1000
    rendered = "" if first else f" ({len(cache.rendered)} rendered, {len(cache.reused)} unchanged; search index " \
        "follows)"
    stages = ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in result.stages.items())
    print(f"{'built' if first else 'rebuilt'} {count(result.briefings, 'briefing')} "
          f"({count(result.quotes, 'quote')} verified) into {options.out}/: {count(result.pages, 'page')}"
          f"{rendered}, {count(result.files, 'file')}, {count(len(result.diagnostics), 'warning')} "
          f"in {took:.0f} ms [{stages}]", flush=True)
    state.publish([])


def watch_loop(options: BuildOptions, state: State, cache: RenderCache, stop: threading.Event,
               ready: threading.Event) -> None:
    """Rebuild after every change; `ready` is set once the watcher is in place (its first answer,
    changes or a 0.2 s timeout), so that no save made after "serving ..." is printed goes unseen."""
    import watchfiles  # noqa: PLC0415

    paths = [str(options.src), str(templates_dir())]
    for changes in watchfiles.watch(*paths, stop_event=stop, debounce=150, step=30, raise_interrupt=False,
                                    ignore_permission_denied=True, rust_timeout=200, yield_on_timeout=True):
        ready.set()
        if stop.is_set():
            break
        if not changes:
            continue
        cache.folders.note([path for _change, path in changes], options.src)
        run_build(options, state, cache, first=False)


def serve(args) -> int:
    """Build, serve on args.host:args.port and rebuild on every change until interrupted."""
    options = BuildOptions(src=Path(args.src), out=Path(args.out), src_display=args.src.rstrip("/") or "/",
                           drafts=args.drafts, strict=args.strict, write=True)
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, not {args.port}")
    state, cache = State(), RenderCache(background=True)
    cache.folders.watched = True
    cache.on_search = lambda failure: state.searched() if failure is None else None
    run_build(options, state, cache, first=True)
    port_ref = [args.port]
    server = make_server(args.host, args.port, make_handler(options.out, state, port_ref))
    port_ref[0] = server.server_address[1]
    if not is_loopback(args.host):
        print(f"briefkit: warning: --host {args.host} is not a loopback address: the preview is reachable "
              "from other machines (it still answers only requests for localhost)", file=sys.stderr, flush=True)
    stop, ready = threading.Event(), threading.Event()
    watcher = threading.Thread(target=watch_loop, args=(options, state, cache, stop, ready), name="briefkit-watch",
                               daemon=True)
    watcher.start()
    ready.wait(timeout=10)  # a save right after the line below must rebuild

    def terminate(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    shown = {"::1": "[::1]", "127.0.0.1": "127.0.0.1"}.get(args.host, "localhost")
    print(f"serving {options.out}/ on http://{shown}:{port_ref[0]}/ (watching {options.src_display} and "
          f"the templates; Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
        signal.signal(signal.SIGTERM, previous)
        watcher.join(timeout=2)
    print("stopped", flush=True)
    return 0


