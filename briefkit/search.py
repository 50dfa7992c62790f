"""The search index: Pagefind records built from the model, written with Pagefind's Python API.

`records(site)` is a pure function of the site: one record per briefing, per quote and per actor,
each with the URL of its page (a quote's URL ends in `#quote-<key>`, so a hit opens the briefing
at its card), the text to search, the metadata the search page shows and the filters it offers.
`write_index(site, folder)` runs the Pagefind binary (package `pagefind[bin]`, offline) on those
records through Pagefind's Python API and writes the bundle to `folder/pagefind/`.

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
import gzip
import hashlib
import json
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Mapping

from . import urls
from .model import Briefing, Quote, Site
from .render import human_date

BUNDLE = "pagefind"
# The filters, in the order the bundle lists them (the filter pane shows them by name).
FILTERS = ("type", "speaker", "actor", "tag", "year")
TITLE_LENGTH = 110


class SearchIndexError(Exception):
    """Pagefind could not build the index (missing binary, a failing service...)."""


@dataclass(frozen=True)
class Record:
    """One search result: a page, or a place in one (`url` is relative to the site root)."""

    url: str
    content: str
    meta: Mapping[str, str]
    filters: Mapping[str, tuple[str, ...]]


# --- the records ------------------------------------------------------------------------------


class _ArticleText(HTMLParser):
    """The words of an article as a reader sees them: blocks are separated; the small link
    marks Briefkit adds (a quote's ↗, footnote numbers and back links) are left out."""

    BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "td", "th",
              "div", "br", "hr", "dt", "dd", "figcaption", "caption"}
    SKIP_CLASSES = {"quote-ref", "footnote-ref", "footnote-backref"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[bool] = []  # for each open element: does it hide its text?

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.BLOCKS:
            self.parts.append(" ")
        if tag in ("br", "hr", "img", "wbr"):
            return  # void elements have no end tag
        classes = set((dict(attrs).get("class") or "").split())
        self.stack.append(bool(classes & self.SKIP_CLASSES) or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if self.stack:
            self.stack.pop()
        if tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def article_text(html: str) -> str:
    parser = _ArticleText()
    parser.feed(html)
    parser.close()
    return " ".join("".join(parser.parts).split())


def shorten(text: str, length: int = TITLE_LENGTH) -> str:
    """`text`, cut at a word boundary with an ellipsis when it is longer than `length`."""
    if len(text) <= length:
        return text
    cut = text[: length - 1].rsplit(" ", 1)[0].rstrip(" ,;:.-\u2013\u2014")
    return cut + "\u2026"


def _filters(**values: tuple[str, ...] | list[str]) -> dict[str, tuple[str, ...]]:
    """Filters in FILTERS order, each value once (in order), empty ones left out."""
    return {name: tuple(dict.fromkeys(values[name])) for name in FILTERS if values.get(name)}


# Pagefind 1.5 indexes every metadata value as well as the content, so the metadata holds only
# words that a record may fairly be found by: its title, and one line about it (the date; who
# said a quote; an actor's kind and description). The search page tells the record types apart
# by their URLs, which the contract fixes.

def briefing_record(briefing: Briefing) -> Record:
    return Record(
        url=urls.briefing_page(briefing.slug),
        content=f"{briefing.summary_text} {article_text(briefing.article_html)}",
        meta={"title": briefing.title, "about": human_date(briefing.date)},
        filters=_filters(type=["Briefing"], actor=[c.actor.name for c in briefing.cast],
                         tag=list(briefing.tags), year=[str(briefing.date.year)]),
    )


def quote_record(briefing: Briefing, quote: Quote) -> Record:
    text = quote.display_text
    who = quote.speaker.name + (f" to {quote.to.name}" if quote.to else "")
    return Record(
        url=f"{urls.briefing_page(briefing.slug)}#{quote.anchor}",
        content=f"\u201c{text}\u201d {who}",
        meta={"title": f"\u201c{shorten(text)}\u201d", "about": f"{who}, {human_date(briefing.date)}"},
        filters=_filters(type=["Quote"], speaker=[quote.speaker.name],
                         actor=[quote.speaker.name] + ([quote.to.name] if quote.to else []),
                         tag=list(briefing.tags), year=[str(briefing.date.year)]),
    )


def actor_records(site: Site) -> list[Record]:
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


def records(site: Site) -> tuple[Record, ...]:
    """Every record of the site's search index, in a stable order: briefings (newest first),
    then each briefing's quotes, then the actors (by name)."""
    out = [briefing_record(b) for b in site.briefings]
    out.extend(quote_record(b, q) for b in site.briefings for q in b.quotes)
    out.extend(actor_records(site))
    return tuple(out)


# --- running Pagefind -------------------------------------------------------------------------


def write_index(site: Site, folder: Path, items: tuple[Record, ...] | None = None, memo=None) -> int:
    """Write the Pagefind bundle for `site` into `folder/pagefind/`; returns the files written.

    `items` are `records(site)` when the caller has them already (the build cache keeps them);
    `memo` (get(key), put(key, files)) keeps the last bundle: the same records give the same one."""
    items = records(site) if items is None else items
    key = hashlib.sha256(repr((items, site.config.language, BUNDLE)).encode()).hexdigest()
    files = memo.get(key) if memo is not None else None
    if files is None:
        try:
            # In a thread of its own, with its own event loop: the caller's thread may be running one.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pagefind") as pool:
                files = pool.submit(lambda: asyncio.run(_run_pagefind(items, site.config.language))).result()
        except SearchIndexError:
            raise
        except Exception as exc:  # the Pagefind client reports the service's failures as bare Exceptions
            raise SearchIndexError(str(exc) or type(exc).__name__) from exc
        files = canonical_bundle(files)
        if memo is not None:
            memo.put(key, files)
    bundle = folder / BUNDLE
    for name, data in sorted(files.items()):
        parts = PurePosixPath(name).parts
        if not parts or name.startswith("/") or ".." in parts or "\\" in name:
            raise SearchIndexError(f"Pagefind returned a file outside its folder: {name!r}")
        target = bundle.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return len(files)


async def _run_pagefind(items: tuple[Record, ...], language: str) -> dict[str, bytes]:
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

    service = PromptService()
    try:
        await service.launch()
        index = await service.create_index({"force_language": language})
        # Sent all at once, in order (each request is written before the next one is): waiting for
        # each answer before sending the next took most of the indexing time.
        await asyncio.gather(*(index.add_custom_record(url=record.url, content=record.content, language=language,
                                                       meta=dict(record.meta),
                                                       filters={k: list(v) for k, v in record.filters.items()})
                               for record in items))
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
