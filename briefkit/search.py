"""The search index: Pagefind documents built from the model, written with Pagefind's Python API.

`records(site)` is a pure function of the site: one HTML document per briefing and one custom
record per actor, each with the URL of its page. A briefing's document is made from the model (not
from the rendered page, every text escaped): its title and date as metadata, its filters, the
summary and the article, then each quote as a heading with the id of the quote's card, so a hit on
a quote's words is a sub-result whose URL ends in `#quote-<key>` (it opens the briefing at the card).

`write_index(site, folder)` runs the Pagefind binary (package `pagefind[bin]`, offline) on those
documents. A site of up to SHARD_SIZE briefings is one bundle in `folder/pagefind/`. A larger one is
split into shards by a hash of each briefing's URL (stable: an edit moves nothing); shard 0 and the
actors are the bundle in `pagefind/`, shard N the index files in `pagefind/shards/N/`, which the
search page merges (`merged_bundles`). Each shard's bundle is kept by a digest of its documents, so
an edit indexes only its own shard again; missing shards are indexed by up to `jobs` Pagefind
processes at once.

Pagefind 1.5 orders some parts of its bundle by a randomly seeded hash map: the filters listed
in the `pf_meta` file, and the values inside each `pf_filter` file. The files' names are hashes
of their content, so the names change too. `canonical_bundle` puts those lists in a fixed order
(filters as FILTERS lists them, values alphabetically) and re-hashes those files the way
Pagefind does, which makes the bundle byte-identical from build to build.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import gzip
import hashlib
import json
import os
import pickle
import re
import shutil
import signal
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html import escape, unescape
from pathlib import Path
from typing import Callable, Mapping, Sequence, Union

from . import urls
from .model import Briefing, Site
from .textcontent import PLAIN_HTML_RE, TAG_RE

BUNDLE = "pagefind"
SHARDS = "shards"  # shard N > 0 is in pagefind/shards/N/ (the folder name must not hold "pagefind":
# Pagefind finds the site's root URL as the part of the bundle's path before "/pagefind")
# Briefings per shard: indexing time and Pagefind's memory grow with a shard's size (1,000
# briefings of realistic text took 2.6 s and 310 MB, 500 about 1.9 s and 183 MB, 450 1.5 s and
# 158 MB: what keeps a cold build of 10,000 under 300 MB), and the search page loads each shard's
# index files (in parallel: 23 shards cost a reader's first search about 0.1-0.25 s more than 10
# over HTTP/2; see the README's "Search at scale").
SHARD_SIZE = 450
# The filters, in the order the bundle lists them (the filter pane shows them by name).
FILTERS = ("type", "speaker", "actor", "tag", "year")
# Documents sent to a Pagefind process and not yet answered: enough to keep it busy.
ADDS_IN_FLIGHT = 32
# What the search page loads of a merged shard's bundle, with its entry and meta files (not its
# WebAssembly: Pagefind's script loads a merged bundle with `load_wasm: false`, it runs on the main one's).
INDEX_FILES = ("fragment/", "index/", "filter/")


class SearchIndexError(Exception):
    """Pagefind could not build the index (missing binary, a failing service...)."""


@dataclass(frozen=True)
class Record:
    """A custom record: one page found by `content` (`url` is relative to the site root)."""

    url: str
    content: str
    meta: Mapping[str, str]
    filters: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Document:
    """A page Pagefind reads as HTML (`add_html_file`): metadata, filters, content and headings."""

    url: str
    html: str

    @functools.cached_property
    def digest(self) -> str:
        """A digest of the HTML: what a shard's key is made of (`shard_key`), so that a build whose
        documents wait in files (`pipeline.SpooledDocument`, which is given it) need not read them."""
        return hashlib.sha256(self.html.encode()).hexdigest()


Item = Union[Record, Document]


# --- the records ------------------------------------------------------------------------------


# The article HTML is Briefkit's own sanitised output (nh3: well-formed, attribute values quoted),
# so a tokenizer of tags and text reads it as html.parser does (tests/test_search.py compares
# the two) in half the time. Quoted attribute values are matched whole, whatever they hold.
TOKEN_RE = re.compile(r"""<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>"']|"[^"]*"|'[^']*')*)>|([^<]+|<)""")
CLASS_RE = re.compile(r"""\sclass\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
# Blocks are separated by a space; the small link marks Briefkit adds (a quote's ↗, footnote
# numbers and back links) are left out.
TEXT_BLOCKS = frozenset({"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "td", "th",
                         "div", "br", "hr", "dt", "dd", "figcaption", "caption"})
TEXT_VOIDS = frozenset({"br", "hr", "img", "wbr"})
SKIP_CLASSES = frozenset({"quote-ref", "footnote-ref", "footnote-backref"})


# In plain HTML (textcontent.PLAIN_HTML_RE) with none of SKIP_CLASSES anywhere, no element hides its
# text: the words are the text between the tags, with a space for each block's tag (read with
# regexes, which run in C: half the token loop's time).
BLOCK_TAG_RE = re.compile("</?(?:" + "|".join(sorted(TEXT_BLOCKS)) + ")(?=[ >])[^>]*>")


def article_text(html: str) -> str:
    """The article's words as a reader sees them, as one line of plain text."""
    if PLAIN_HTML_RE.fullmatch(html) is not None and not any(name in html for name in SKIP_CLASSES):
        return " ".join(TAG_RE.sub("", BLOCK_TAG_RE.sub(" ", html)).split())
    return article_text_by_tokens(html)


def article_text_by_tokens(html: str) -> str:
    """article_text of any HTML, token by token."""
    parts: list[str] = []
    hidden: list[bool] = []  # for each open element: does it hide its text?
    for match in TOKEN_RE.finditer(html):
        closing, tag, attributes, text = match.groups()
        if text is not None:
            if not (hidden and hidden[-1]):
                parts.append(unescape(text))
            continue
        tag = tag.lower()
        if not closing:
            if tag in TEXT_BLOCKS:
                parts.append(" ")
            if tag not in TEXT_VOIDS:  # void elements have no end tag
                found = CLASS_RE.search(attributes)
                classes = set(unescape(next(g for g in found.groups() if g is not None)).split()) if found else set()
                hidden.append(bool(classes & SKIP_CLASSES) or (bool(hidden) and hidden[-1]))
            if not attributes.endswith("/"):
                continue
        # an end tag, or a self-closing start tag (`<b/>`), which html.parser ends at once
        if hidden:
            hidden.pop()
        if tag in TEXT_BLOCKS:
            parts.append(" ")
    return " ".join("".join(parts).split())


def _filters(**values: tuple[str, ...] | list[str]) -> dict[str, tuple[str, ...]]:
    """Filters in FILTERS order, each value once (in order), empty ones left out."""
    return {name: tuple(dict.fromkeys(values[name])) for name in FILTERS if values.get(name)}


def _text(value: str) -> str:
    """Plain text as HTML text or an attribute value: nothing in it is markup."""
    return escape(value, quote=True)


# Pagefind 1.5 indexes every metadata value as well as the content, so the metadata holds only
# words that a page may fairly be found by: its title, and one line about it (the date; an
# actor's kind and description). The search page tells briefings from actors by their URLs.

def briefing_document(briefing: Briefing) -> Document:
    """The briefing as one HTML document: its quotes are headings `<h2 id="quote-<key>">who:</h2>`
    followed by the quote, which Pagefind turns into sub-results linking to the quote's card."""
    from .render import human_date  # noqa: PLC0415 - the renderer imports this module

    filters = _filters(type=["Briefing"], speaker=[q.speaker.name for q in briefing.quotes],
                       actor=[c.actor.name for c in briefing.cast], tag=list(briefing.tags),
                       year=[str(briefing.date.year)])
    parts = ["<html><body><main data-pagefind-body>"]
    # Values in `content` attributes: Pagefind reads them as written (entities decoded) and
    # never indexes the element's text twice.
    for name, value in (("title", briefing.title), ("about", human_date(briefing.date))):
        parts.append(f'<meta data-pagefind-meta="{name}[content]" content="{_text(value)}">')
    for name, values in filters.items():
        parts.extend(f'<meta data-pagefind-filter="{name}[content]" content="{_text(value)}">' for value in values)
    parts.append(f"<p>{_text(briefing.summary_text)}</p><p>{_text(article_text(briefing.article_html))}</p>")
    for quote in briefing.quotes:
        who = quote.speaker.name + (f" to {quote.to.name}" if quote.to else "")
        # The colon ends the heading's text: the sub-result's excerpt reads `Who: “words”`.
        parts.append(f'<h2 id="{_text(quote.anchor)}">{_text(who)}:</h2>'
                     f"<p>\u201c{_text(quote.display_text)}\u201d</p>")
    parts.append("</main></body></html>")
    return Document(url=urls.briefing_page(briefing.slug), html="".join(parts))


def actor_records(site: Site) -> list[Record]:
    """One custom record per actor, with the tags and years of its briefings as filters."""
    records = []
    for actor in site.actors:
        briefings = site.briefings_by_actor.get(actor.id, ())
        words = [actor.name, *([actor.description] if actor.description else []), *actor.aliases]
        records.append(Record(
            url=urls.actor_page(actor.id),
            content=". ".join(words),
            meta={"title": actor.name,
                  "about": actor.kind + (f" \u00b7 {actor.description}" if actor.description else "")},
            filters=_filters(type=["Actor"], actor=[actor.name],
                             tag=sorted({tag for b in briefings for tag in b.tags}),
                             year=sorted({str(b.date.year) for b in briefings})),
        ))
    return records


def records(site: Site) -> tuple[Item, ...]:
    """Everything the site's search index holds, in a stable order: the briefings' documents
    (newest first), then the actors' records (by name)."""
    return (*(briefing_document(b) for b in site.briefings), *actor_records(site))


# --- shards -----------------------------------------------------------------------------------


def shard_count(briefings: int) -> int:
    """How many shards a site of `briefings` briefings is indexed in."""
    return max(1, -(-briefings // SHARD_SIZE))


def shard_of(url: str, count: int) -> int:
    """The shard of the page at `url` (stable while the count is: a hash of the URL)."""
    return int.from_bytes(hashlib.sha256(url.encode("utf-8")).digest()[:8], "big") % count


def shard_folder(shard: int) -> str:
    """Where a shard's bundle goes, relative to the site root."""
    return BUNDLE if shard == 0 else f"{BUNDLE}/{SHARDS}/{shard}"


def merged_bundles(site: Site) -> tuple[str, ...]:
    """The folders (relative to the site root, ending in /) the search page merges into the main
    bundle: the shards but 0 that hold a briefing (none for a site of one shard)."""
    count = shard_count(len(site.briefings))
    used = {shard_of(urls.briefing_page(b.slug), count) for b in site.briefings} if count > 1 else set()
    return tuple(f"{shard_folder(i)}/" for i in sorted(used - {0}))


def shards(items: Sequence[Item]) -> dict[int, tuple[Item, ...]]:
    """`items` split into shards (by number), each in the order given: shard 0 always, with the
    actors' records, and the others that hold a document (as `merged_bundles` lists them)."""
    count = shard_count(sum(isinstance(item, Document) for item in items))
    out: dict[int, list[Item]] = {0: []}
    for item in items:
        shard = shard_of(item.url, count) if isinstance(item, Document) and count > 1 else 0
        out.setdefault(shard, []).append(item)
    return {shard: tuple(out[shard]) for shard in sorted(out)}


# --- running Pagefind -------------------------------------------------------------------------


class Background:
    """`function()` run meanwhile: in a forked process where there is fork (the result sent back
    pickled), so that its Python work (the documents sent to Pagefind, the bundle written and
    linked) does not take the interpreter lock from the build's rendering; else in a thread.
    `result()` waits for it and returns its value or raises its exception; `cancel()` stops it."""

    died = "the indexing process died"  # the error when the process ends without a result

    def __init__(self, function: Callable[[], object]):
        self.outcome: tuple[bool, object] | None = None
        self.pid = 0
        if not hasattr(os, "fork"):
            self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="briefkit-index")
            self.future = self.thread.submit(function)
            self.thread.shutdown(wait=False)
            return
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            try:
                os.close(read)
                die_with_parent()
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(outcome(function))
            finally:
                os._exit(0)
        os.close(write)
        self.pid, self.read = pid, read

    @classmethod
    def handed(cls, pid: int, read: int) -> Background:
        """The function another process (`Standby`) is running, its outcome to come on `read`."""
        running = object.__new__(cls)
        running.outcome, running.pid, running.read = None, pid, read
        return running

    def result(self) -> object:
        if self.pid == 0:
            return self.future.result()
        if self.outcome is None:
            with os.fdopen(self.read, "rb") as pipe:
                data = pipe.read()
            os.waitpid(self.pid, 0)
            self.outcome = pickle.loads(data) if data else (False, SearchIndexError(self.died))
        done, value = self.outcome
        if done:
            return value
        raise value  # type: ignore[misc]

    def cancel(self) -> None:
        """Stop it (a thread cannot be stopped: waited for) and wait until it has."""
        if self.pid != 0 and self.outcome is None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(BaseException):
            self.result()


class Standby:
    """A process forked now, while the build's process is small, that runs one function handed to
    it later, pickled (`run`), as `Background` does. A process forked when the function is known
    shares the whole loaded archive with the build's process, and those pages become its own one by
    one as the build renders (writing an object's reference count copies its page): about 130 MB
    at 10,000 briefings. Unused, `close` ends it."""

    def __init__(self) -> None:
        jobs, self.jobs = os.pipe()
        self.read, outcomes = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            try:
                os.close(self.jobs)
                os.close(self.read)
                die_with_parent()
                with os.fdopen(jobs, "rb") as pipe:
                    job = pipe.read()
                if job:
                    with os.fdopen(outcomes, "wb") as pipe:
                        pipe.write(outcome(lambda: pickle.loads(job)()))
            finally:
                os._exit(0)
        os.close(jobs)
        os.close(outcomes)

    def run(self, job: bytes) -> Background:
        """Run the pickled function `job` (pickled with no argument), as `Background(function)`."""
        pid, jobs, read = self.pid, self.jobs, self.read
        self.pid = 0
        try:
            with os.fdopen(jobs, "wb") as pipe:
                pipe.write(job)
        except OSError:  # the process is gone: `result` says so
            pass
        return Background.handed(pid, read)

    def close(self) -> None:
        """End the process if it was not given a function."""
        if self.pid != 0:
            os.close(self.jobs)
            os.close(self.read)
            os.waitpid(self.pid, 0)
            self.pid = 0


def outcome(function: Callable[[], object]) -> bytes:
    """What a forked process sends back (`Background.result`): (True, value) or (False, exception)
    pickled; an exception that cannot be pickled as a SearchIndexError naming it."""
    try:
        return pickle.dumps((True, function()))
    except BaseException as exc:  # noqa: BLE001 (raised again in the parent)
        try:
            return pickle.dumps((False, exc))
        except Exception:  # noqa: BLE001
            return pickle.dumps((False, SearchIndexError(f"{type(exc).__name__}: {exc}")))


def die_with_parent() -> None:
    """Linux: have the kernel kill this process when its parent dies (a killed build's indexer
    must not write on into the folder the next build removes)."""
    parent = os.getppid()
    with contextlib.suppress(Exception):
        import ctypes  # noqa: PLC0415
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before that
        os._exit(1)



def write_index(site: Site, folder: Path, items: Sequence[Item] | None = None, memo=None, jobs: int = 1) -> int:
    """Write the Pagefind bundles for `site` into `folder/pagefind/`; returns the files written.

    `items` are `records(site)` when the caller has them already (the build cache keeps them);
    `memo` (get(key), put(key, files), keep_only(keys)) keeps each shard's bundle by a digest of its
    documents: the same documents give the same bundle. Up to `jobs` Pagefind processes index the
    shards it has not got; the output does not depend on `jobs`."""
    items = records(site) if items is None else tuple(items)
    language = site.config.language
    parts = shards(items)
    keys = {i: shard_key(part, language, main=i == 0) for i, part in parts.items()}
    bundles = {i: memo.get(key) if memo is not None else None for i, key in keys.items()}
    missing = [i for i, files in bundles.items() if files is None]

    def finish(position: int, files: dict[str, bytes]) -> int:
        """Write a shard's bundle (and keep it) as soon as Pagefind has made it, and drop it: the
        bundles kept until every shard was indexed grew the build's peak by some 50 MB at 10,000.
        Returns the files written."""
        i = missing[position]
        files = canonical_bundle(files)
        if i > 0:  # a merged shard: the search page runs the main bundle's script
            files = {name: data for name, data in files.items() if _is_index_file(name)}
        if memo is not None:
            memo.put(keys[i], files)
            files = memo.get(keys[i]) or files  # on disk: files to link to
        return _write_bundle(folder / shard_folder(i), files)

    indexing = None
    if missing:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pagefind-index")
        indexing = pool.submit(_index, [parts[i] for i in missing], language, jobs, finish)
        pool.shutdown(wait=False)
    try:  # the bundles it has: written while Pagefind indexes the others
        cached = sum(_write_bundle(folder / shard_folder(i), files) for i, files in bundles.items()
                     if files is not None)
    except BaseException:
        if indexing is not None:
            with contextlib.suppress(BaseException):
                indexing.result()
        raise
    written = indexing.result() if indexing is not None else 0
    if memo is not None:
        memo.keep_only(set(keys.values()))
    return cached + written


def shard_key(part: Sequence[Item], language: str, main: bool) -> str:
    """A digest of everything a shard's bundle is made from (its items, in order)."""
    digest = hashlib.sha256(repr((language, BUNDLE, main, len(part))).encode())
    for item in part:
        # A document by the digest of its HTML: reading 10,000 documents back from their files took
        # a third of a second of every edit before Pagefind could start.
        kind, text = ("Document", item.digest) if isinstance(item, Document) else (type(item).__name__, repr(item))
        digest.update(f"\0{kind}\0{item.url}\0{len(text)}\0{text}".encode())
    return digest.hexdigest()


def _is_index_file(name: str) -> bool:
    """Whether the search page needs `name` of a merged shard's bundle (not its script or UI)."""
    return name == "pagefind-entry.json" or name.endswith(".pf_meta") or name.startswith(INDEX_FILES)


def _write_bundle(bundle: Path, files: Mapping[str, bytes | Path]) -> int:
    """Write the files (bytes, or a memo's file to link to, else copy) into `bundle`."""
    root = str(bundle)
    made: set[str] = set()
    for name, data in sorted(files.items()):
        parts = [part for part in name.split("/") if part not in ("", ".")]  # as PurePosixPath.parts, but fast
        if not parts or name.startswith("/") or ".." in parts or "\\" in name:
            raise SearchIndexError(f"Pagefind returned a file outside its folder: {name!r}")
        target = f"{root}/{'/'.join(parts)}"
        parent = target.rpartition("/")[0]
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        if isinstance(data, Path):
            try:
                os.link(data, target)
            except OSError:  # another file system, or no hard links there
                shutil.copyfile(data, target)
        else:
            with open(target, "wb") as handle:
                handle.write(data)
    return len(files)


def _index(parts: list[tuple[Item, ...]], language: str, jobs: int,
           finish: Callable[[int, dict[str, bytes]], int]) -> int:
    """Have Pagefind make the bundle of each part, up to `jobs` Pagefind processes at once, and
    `finish(position, files)` each bundle (in a thread) as soon as it is made; returns the sum of
    what `finish` returned."""
    async def all_parts() -> int:
        limit = asyncio.Semaphore(max(1, jobs))
        finishing = threading.Lock()  # one bundle written and kept at a time (the memo's files)

        def finish_one(position: int, files: dict[str, bytes]) -> int:
            with finishing:
                return finish(position, files)

        async def one(position: int, part: tuple[Item, ...]) -> int:
            async with limit:
                try:
                    files = await _run_pagefind(part, language)
                except SearchIndexError:
                    raise
                except Exception as exc:  # the Pagefind client reports the service's failures as bare Exceptions
                    raise SearchIndexError(str(exc) or type(exc).__name__) from exc
            # Not while holding a Pagefind slot (the next shard is indexed meanwhile); its errors
            # (an unwritable folder) are the caller's to report, as they are.
            return await asyncio.to_thread(finish_one, position, files)

        return sum(await asyncio.gather(*(one(position, part) for position, part in enumerate(parts))))

    # In a thread of its own, with its own event loop: the caller's thread may be running one.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pagefind") as pool:
        return pool.submit(lambda: asyncio.run(all_parts())).result()


async def _run_pagefind(items: tuple[Item, ...], language: str) -> dict[str, bytes]:
    """The bundle Pagefind makes of `items`: file path (relative to the bundle) -> bytes.

    The files come back in memory (`get_files`) and Briefkit writes them: Pagefind's own
    `write_files` answers before its background writes are done, so stopping the service when
    it has answered cut files short (two builds in five, with a prompt reader).
    """
    from pagefind.service import PagefindService

    class PromptService(PagefindService):
        """Pagefind's service client, reading each answer as soon as it arrives (the stock
        reader pauses 0.1 s before every answer: seconds per build) whatever its size (the
        stock reader stops at 2 MiB); if the service dies or talks nonsense, every pending
        and later request fails instead of waiting forever."""

        failure: SearchIndexError | None = None

        async def send(self, payload):
            if self.failure is not None:
                raise self.failure
            return await super().send(payload)

        async def _wait_for_responses(self) -> None:
            try:
                while True:
                    answer = json.loads(base64.b64decode(await _read_message(self._backend.stdout)))
                    if answer is None:
                        continue
                    future = self._responses.get(answer.get("message_id"))
                    payload = answer["payload"]
                    failed = payload.get("type") == "Error"
                    if future is None or future.done():
                        if failed:
                            raise SearchIndexError(f"the Pagefind service failed: {payload.get('message')}")
                        continue
                    if failed:
                        future.set_exception(SearchIndexError(payload.get("message") or "Pagefind failed"))
                    else:
                        future.set_result(payload)
            except asyncio.CancelledError:
                raise
            except asyncio.IncompleteReadError:
                self.failure = SearchIndexError("the Pagefind service stopped")
            except SearchIndexError as exc:
                self.failure = exc
            except Exception as exc:
                self.failure = SearchIndexError(f"the Pagefind service answered something unexpected ({exc})")
            for future in self._responses.values():
                if not future.done():
                    future.set_exception(self.failure)

    def add(index, item: Item):
        if isinstance(item, Document):
            return index.add_html_file(url=item.url, content=item.html)
        return index.add_custom_record(url=item.url, content=item.content, language=language, meta=dict(item.meta),
                                       filters={k: list(v) for k, v in item.filters.items()})

    service = PromptService()
    try:
        await service.launch()
        index = await service.create_index({"force_language": language})
        # Sent in order (each request is written before the next one is), up to ADDS_IN_FLIGHT
        # unanswered at once: waiting for each answer before sending the next took most of the
        # indexing time, and sending a whole shard at once queued all its documents in memory.
        window = asyncio.Semaphore(ADDS_IN_FLIGHT)

        async def send(request) -> None:
            try:
                await request
            finally:
                window.release()

        sending = []
        for item in items:
            await window.acquire()
            sending.append(asyncio.ensure_future(send(add(index, item))))
        await asyncio.gather(*sending)
        return {file["path"]: file["content"] for file in await index.get_files()}
    finally:
        await _stop(service)


async def _stop(service) -> None:
    """End the service: it exits when its input ends (killed if it has not within 10 s)."""
    task = getattr(service, "_poll_task", None)
    process = getattr(service, "_backend", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    if process is None:
        return
    if process.stdin is not None:
        process.stdin.close()
    try:
        await asyncio.wait_for(process.wait(), timeout=10)
    except asyncio.TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


async def _read_message(stream: asyncio.StreamReader) -> bytes:
    """One message of the service (base64 text ending in a comma), however long."""
    chunks = []
    while True:
        try:
            chunks.append(await stream.readuntil(b","))
            return b"".join(chunks)[:-1]
        except asyncio.LimitOverrunError as exc:  # longer than the stream's buffer limit
            chunks.append(await stream.readexactly(exc.consumed))


# --- byte-identical bundles -------------------------------------------------------------------

SIGNATURE = b"pagefind_dcd"


def pagefind_hash(data: bytes) -> str:
    """Pagefind's content hash: SHA-1, each byte in hex without zero padding (its `{:x?}`)."""
    return "".join(format(byte, "x") for byte in hashlib.sha1(data).digest())


def _unpack(files: Mapping[str, bytes], name: str):
    data = gzip.decompress(files[name])
    if not data.startswith(SIGNATURE):
        raise ValueError(f"{name} is not a Pagefind data file")
    body = data[len(SIGNATURE):]
    value = cbor_decode(body)
    if cbor_encode(value) != body:
        raise ValueError(f"{name} does not round-trip")
    return value


def _pack(body: bytes) -> bytes:
    return gzip.compress(SIGNATURE + body, compresslevel=9, mtime=0)


def canonical_bundle(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """The bundle with the parts Pagefind writes in hash-map order put in a fixed order.

    Rewrites only the meta file of each language (its list of filters), the filter
    files (their values; their names are hashes of their content) and the meta hashes in
    pagefind-entry.json. A bundle it does not recognise (another Pagefind version) comes back as
    Pagefind made it.
    """
    try:
        return _canonical(files)
    except (ValueError, KeyError, TypeError, IndexError, EOFError, OSError, zlib.error):
        return dict(files)


def _canonical(files: Mapping[str, bytes]) -> dict[str, bytes]:
    entry_text = files["pagefind-entry.json"].decode("utf-8")
    entry = json.loads(entry_text)
    order = {name: i for i, name in enumerate(FILTERS)}
    removed: set[str] = set()
    added: dict[str, bytes] = {}
    for language, info in sorted(entry["languages"].items()):
        prefix = f"{language}_"
        meta_name = f"pagefind.{info['hash']}.pf_meta"
        meta = _unpack(files, meta_name)
        if not (isinstance(meta, list) and len(meta) >= 5 and isinstance(meta[3], list)
                and isinstance(meta[4], list)):
            raise ValueError(f"unexpected layout of {meta_name}")
        filters, taken = [], set()
        for name, old_hash in sorted(meta[3], key=lambda f: (order.get(f[0], len(order)), f[0])):
            old_name = f"filter/{old_hash}.pf_filter"
            index = _unpack(files, old_name)
            if not (isinstance(index, list) and len(index) == 2 and index[0] == name
                    and isinstance(index[1], list)):
                raise ValueError(f"unexpected layout of {old_name}")
            index[1] = sorted(index[1], key=lambda packed: packed[0])
            body = cbor_encode(index)
            full = prefix + pagefind_hash(body)
            length = len(prefix) + 7  # Pagefind's short hash, made longer on a collision
            while full[:length] in taken and length < len(full):
                length += 1
            taken.add(full[:length])
            filters.append([name, full[:length]])
            removed.add(old_name)
            added[f"filter/{full[:length]}.pf_filter"] = _pack(body)
        meta[3] = filters
        body = cbor_encode(meta)
        new_hash = prefix + pagefind_hash(body)[: len(prefix) + 7]
        removed.add(meta_name)
        added[f"pagefind.{new_hash}.pf_meta"] = _pack(body)
        old = json.dumps(info["hash"])
        if entry_text.count(old) != 1:
            raise ValueError("unexpected pagefind-entry.json")
        entry_text = entry_text.replace(old, json.dumps(new_hash))
    added["pagefind-entry.json"] = entry_text.encode("utf-8")
    out = {name: data for name, data in files.items() if name not in removed}
    out.update(added)
    return out


# A CBOR codec for what Pagefind's index files hold (integers, strings, arrays, booleans), in
# the shortest encoding, as Pagefind's minicbor writes it.

def cbor_decode(data: bytes):
    def item(i: int):
        initial = data[i]
        major, info = initial >> 5, initial & 31
        i += 1
        if info < 24:
            arg = info
        elif info <= 27:
            size = 1 << (info - 24)
            arg, i = int.from_bytes(data[i:i + size], "big"), i + size
        else:
            raise ValueError(f"unsupported CBOR item {initial:#x}")
        if major == 0:
            return arg, i
        if major == 1:
            return -1 - arg, i
        if major == 2:
            return bytes(data[i:i + arg]), i + arg
        if major == 3:
            return data[i:i + arg].decode("utf-8"), i + arg
        if major == 4:
            items = []
            for _ in range(arg):
                value, i = item(i)
                items.append(value)
            return items, i
        if major == 7 and info in (20, 21, 22):
            return (False, True, None)[info - 20], i
        raise ValueError(f"unsupported CBOR item {initial:#x}")

    value, end = item(0)
    if end != len(data):
        raise ValueError("trailing bytes after the CBOR item")
    return value


def _cbor_head(major: int, arg: int) -> bytes:
    if arg < 24:
        return bytes([major << 5 | arg])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if arg < 1 << (8 * size):
            return bytes([major << 5 | info]) + arg.to_bytes(size, "big")
    raise ValueError("integer too large for CBOR")


def cbor_encode(value) -> bytes:
    if value is False or value is True or value is None:
        return {False: b"\xf4", True: b"\xf5", None: b"\xf6"}[value]
    if isinstance(value, int):
        return _cbor_head(0, value) if value >= 0 else _cbor_head(1, -1 - value)
    if isinstance(value, bytes):
        return _cbor_head(2, len(value)) + value
    if isinstance(value, str):
        data = value.encode("utf-8")
        return _cbor_head(3, len(data)) + data
    if isinstance(value, list):
        return _cbor_head(4, len(value)) + b"".join(cbor_encode(v) for v in value)
    raise TypeError(f"cannot encode {type(value).__name__} as CBOR")
