"""Link health (`check --links`): every context and source URL, checked over HTTP.

HEAD first, then GET when a server refuses HEAD (405, 403, 501); eight at a time; a timeout and
retries for network errors and 5xx/429 answers; permanent redirects (301, 308) and dead links
(4xx, 5xx, unreachable) become warnings at the URL's line. Answers are cached in
`.briefkit-cache/links.json` (in the working directory) for a time-to-live, so repeated checks,
in CI too, ask only about new or stale URLs. Network failures are never cached.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import Callable

from . import __version__
from .diagnostics import WARNING, ContentError, Diagnostic, Position, Report, SourceFile
from .loader import load_content
from .schema import ANNOTATIONS, INVALID, Context

CACHE_PATH = Path(".briefkit-cache") / "links.json"
DEFAULT_TTL_HOURS = 24.0
WORKERS = 8
TIMEOUT = 10.0
RETRIES = 2
RETRY_PAUSE = 0.5  # seconds, doubled after each try
GET_INSTEAD = frozenset({403, 405, 501})  # servers that refuse HEAD but may answer GET
PERMANENT = frozenset({301, 308})
USER_AGENT = f"briefkit-link-check/{__version__}"


@dataclass(frozen=True)
class Place:
    """A URL in the content: what it is and where it is written."""

    url: str
    what: str  # "context link" or "source URL"
    source: SourceFile
    pos: Position


@dataclass(frozen=True)
class Answer:
    """What checking a URL found. `status` None: no HTTP answer (`error` says why)."""

    status: int | None
    redirect: int | None = None  # the first redirect's status code, if any
    final: str | None = None     # where the redirects led
    error: str | None = None
    checked: float = 0.0         # time.time() of the check, for the cache

    @property
    def cacheable(self) -> bool:
        return self.status is not None and self.status < 500 and self.status != 429


@dataclass(frozen=True)
class Settings:
    ttl_hours: float = DEFAULT_TTL_HOURS
    cache: Path | None = CACHE_PATH
    timeout: float = TIMEOUT
    retries: int = RETRIES
    workers: int = WORKERS
    retry_pause: float = RETRY_PAUSE


def places(src: Path, src_display: str) -> list[Place]:
    """Every context and source URL of the content, with where it is (invalid entries skipped:
    the check reports them)."""
    raw = load_content(src, src_display, Report())
    found = []
    for briefing in raw.briefings:
        fields = ANNOTATIONS.check(briefing.annotations_node, Context(briefing.annotations, Report()))
        if fields is INVALID:
            continue
        source = fields.get("source")
        if source is not None and "url" in source:
            found.append(Place(source["url"], "source URL", briefing.annotations, source.pos("url")))
        for link in fields.get("context", ()):
            found.append(Place(link["url"], "context link", briefing.annotations, link.pos("url")))
    return found


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects (keeping HEAD a HEAD) and remembers the first one's status code."""

    def __init__(self) -> None:
        self.codes: list[int] = []

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            self.codes.append(code)
            new.method = req.get_method()
        return new


def request(url: str, method: str, timeout: float) -> Answer:
    redirects = _Redirects()
    opener = urllib.request.build_opener(redirects)
    req = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    try:
        with opener.open(req, timeout=timeout) as response:
            status, final = response.status, response.geturl()
    except urllib.error.HTTPError as exc:
        status, final = exc.code, exc.geturl() or url
        exc.close()
    return Answer(status, redirects.codes[0] if redirects.codes else None, final)


def describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(reason, ConnectionResetError):
        return "connection reset"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "unknown host"
    return str(reason) or type(reason).__name__


def check_url(url: str, settings: Settings) -> Answer:
    """HEAD, then GET if HEAD is refused; retries on network errors, 5xx and 429."""
    pause = settings.retry_pause
    answer = Answer(None, error="not checked")
    for attempt in range(settings.retries + 1):
        try:
            answer = request(url, "HEAD", settings.timeout)
            if answer.status in GET_INSTEAD:
                answer = request(url, "GET", settings.timeout)
        except (urllib.error.URLError, HTTPException, OSError, ValueError) as exc:
            tries = f" after {attempt + 1} tries" if attempt else ""
            answer = Answer(None, error=describe(exc) + tries)
        if answer.cacheable or attempt == settings.retries:
            break
        time.sleep(pause)
        pause *= 2
    return answer


def load_cache(path: Path | None) -> dict[str, dict]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data["links"] if data.get("version") == 1 and isinstance(data.get("links"), dict) else {}
    except (OSError, ValueError, AttributeError, KeyError):
        return {}  # a missing or damaged cache only costs a fresh check


def save_cache(path: Path | None, links: dict[str, dict]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".links-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"version": 1, "links": dict(sorted(links.items()))}, handle, indent=1, ensure_ascii=False)
    os.replace(tmp, path)


def check_all(urls: list[str], settings: Settings, now: Callable[[], float] = time.time) -> dict[str, Answer]:
    """An answer for each URL: from the cache when younger than the TTL, else from the network."""
    cached = load_cache(settings.cache)
    fresh_after = now() - settings.ttl_hours * 3600
    answers: dict[str, Answer] = {}
    for url in urls:
        entry = cached.get(url)
        if isinstance(entry, dict) and isinstance(entry.get("checked"), (int, float)) \
                and entry["checked"] >= fresh_after:
            answers[url] = Answer(entry.get("status"), entry.get("redirect"), entry.get("final"),
                                  entry.get("error"), entry["checked"])
    todo = sorted(set(urls) - set(answers))
    with ThreadPoolExecutor(max_workers=settings.workers) as pool:
        for url, answer in zip(todo, pool.map(lambda u: check_url(u, settings), todo)):
            answers[url] = dataclasses.replace(answer, checked=now())
    if todo:
        kept = {url: entry for url, entry in cached.items() if isinstance(entry, dict)
                and isinstance(entry.get("checked"), (int, float)) and entry["checked"] >= fresh_after}
        kept.update({url: dataclasses.asdict(answers[url]) for url in todo if answers[url].cacheable})
        save_cache(settings.cache, kept)
    return answers


def diagnostics(found: list[Place], answers: dict[str, Answer]) -> list[Diagnostic]:
    """Warnings for dead, unreachable and permanently moved links."""
    result = []
    for place in found:
        answer = answers[place.url]
        if answer.status is None:
            result.append(place.source.diagnostic(
                WARNING, "link-unreachable", f"{place.what} '{place.url}' could not be reached ({answer.error})",
                place.pos, "check the address; if the site is down for good, link to an archived copy"))
        elif answer.status >= 400:
            result.append(place.source.diagnostic(
                WARNING, "link-dead", f"{place.what} '{place.url}' is broken (HTTP {answer.status})", place.pos,
                "update or remove the link, or link to an archived copy"))
        elif answer.redirect in PERMANENT and answer.final and answer.final != place.url:
            result.append(place.source.diagnostic(
                WARNING, "link-redirected",
                f"{place.what} '{place.url}' has moved ({answer.redirect}) to '{answer.final}'", place.pos,
                "use the new address"))
    return result


def link_diagnostics(src: Path, src_display: str, settings: Settings) -> list[Diagnostic]:
    found = places(src, src_display)
    return diagnostics(found, check_all([p.url for p in found], settings))


def with_links(build: Callable, settings: Settings) -> Callable:
    """Wrap the pipeline's build for `check --links`: link warnings join the check's diagnostics."""
    def run(options, progress=None):
        try:
            result = build(options, progress)
        except ContentError as exc:
            extra = link_diagnostics(options.src, options.src_display, settings)
            raise ContentError(sorted(exc.diagnostics + extra, key=lambda d: d.sort_key)) from None
        extra = link_diagnostics(options.src, options.src_display, settings)
        combined = sorted(result.diagnostics + extra, key=lambda d: d.sort_key)
        if options.strict and extra:
            raise ContentError(combined)
        return dataclasses.replace(result, diagnostics=combined)
    return run
