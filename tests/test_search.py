"""Search: the Pagefind records built from the model, the bundle written into the site, its
determinism, and the search page and header box (the browser side is test_search_browser.py)."""

from __future__ import annotations

import gzip
import json
import random
import time
from html.parser import HTMLParser
from pathlib import Path

import lxml.html

import pytest
from hypothesis import given, strategies as st

from briefkit import search
from briefkit.diagnostics import Report
from briefkit.loader import load_content
from briefkit.text.render import Renderer
from briefkit.search import Record, SearchIndexError, canonical_bundle, cbor_decode, cbor_encode, pagefind_hash
from briefkit.validation import Options, build_model
from briefkit.writer import Output, write_site
from conftest import EXAMPLE, build_ok, build_site, make_content, parse_html, simple_briefing, snapshot

# A small site: two briefings in two years, one quote with an id and a recipient, one with
# neither, and a registry actor with a description and aliases.
FIXTURE = {
    "site.yaml": "title: Search tests\nlanguage: en\n",
    "actors.yaml": """
        ada-lovelace:
          name: Ada Lovelace
          kind: person
          description: Mathematician and writer
          aliases: [Lovelace, Countess of Lovelace]
        """,
    "engine/annotations.yaml": """
        title: The engine weaves patterns
        date: 2024-11-05
        summary: Lovelace explains *the engine*.
        tags: [science, computing]
        actors:
          - id: ada-lovelace
            role: Author of the notes
          - id: charles-babbage
            name: Charles Babbage
            kind: person
        quotes:
          - id: weaves
            text: The engine weaves algebraic patterns
            speaker: ada-lovelace
            to: charles-babbage
          - text: I am not a machine
            speaker: charles-babbage
        """,
    "engine/article.txt": """
        Ada Lovelace wrote to Charles Babbage.

        "The engine weaves algebraic patterns," Lovelace said.

        "I am not a machine," Charles Babbage replied.
        """,
}
FIXTURE.update(simple_briefing("society", title="The society meets", date="2025-03-01", tags="science"))


def model(src: Path):
    report = Report()
    site = build_model(load_content(src, "content", report), Options(None, False), report)
    assert not report.errors, report.sorted()
    return site


@pytest.fixture(scope="module")
def fixture_site(tmp_path_factory):
    return model(make_content(tmp_path_factory.mktemp("search"), FIXTURE))


@pytest.fixture(scope="module")
def fixture_records(fixture_site) -> dict[str, search.Item]:
    records = search.records(fixture_site)
    urls = [r.url for r in records]
    assert len(urls) == len(set(urls)), urls
    return {r.url: r for r in records}


def document(html: str):
    """A search document parsed as Pagefind reads it (lxml.html, which decodes the entities)."""
    return lxml.html.document_fromstring(html)


def document_meta(doc) -> dict[str, str]:
    return {e.get("data-pagefind-meta").removesuffix("[content]"): e.get("content")
            for e in doc.xpath("//*[@data-pagefind-meta]")}


def document_filters(doc) -> dict[str, tuple[str, ...]]:
    filters: dict[str, tuple[str, ...]] = {}
    for e in doc.xpath("//*[@data-pagefind-filter]"):
        name = e.get("data-pagefind-filter").removesuffix("[content]")
        filters[name] = (*filters.get(name, ()), e.get("content"))
    return filters


# --- the records --------------------------------------------------------------------------------


def test_one_document_per_briefing_and_one_record_per_actor_in_a_stable_order(fixture_site, fixture_records):
    assert list(fixture_records) == [
        "briefings/society/index.html",          # briefings, newest first
        "briefings/engine/index.html",
        "actors/ada-lovelace/index.html",        # then the actors, by name
        "actors/analytical-society/index.html",
        "actors/charles-babbage/index.html",
    ]
    assert [type(r) for r in fixture_records.values()] == [search.Document] * 2 + [Record] * 3
    assert search.records(fixture_site) == search.records(fixture_site)


def test_briefing_document_metadata_filters_and_text(fixture_records):
    doc = document(fixture_records["briefings/engine/index.html"].html)
    assert document_meta(doc) == {"title": "The engine weaves patterns", "about": "5 November 2024"}
    # Speakers are the briefing's quoted speakers; the actors its cast.
    assert document_filters(doc) == {"type": ("Briefing",), "speaker": ("Ada Lovelace", "Charles Babbage"),
                                     "actor": ("Ada Lovelace", "Charles Babbage"),
                                     "tag": ("science", "computing"), "year": ("2024",)}
    (body,) = doc.xpath("//main[@data-pagefind-body]")
    summary, article = [p.text_content() for p in body.xpath("./p")][:2]
    assert summary == "Lovelace explains the engine."
    assert article.startswith("Ada Lovelace wrote to Charles Babbage.") and "I am not a machine" in article


def test_each_quote_is_a_heading_with_its_cards_id_then_the_quote(fixture_records):
    doc = document(fixture_records["briefings/engine/index.html"].html)
    headings = doc.xpath("//main/h2")
    assert [(h.get("id"), h.text_content()) for h in headings] == [
        ("quote-weaves", "Ada Lovelace to Charles Babbage:"),  # with `to`, and the id of the YAML
        ("quote-2", "Charles Babbage:"),                      # without: the quote's position
    ]
    assert [h.getnext().text_content() for h in headings] == [
        "\u201cThe engine weaves algebraic patterns\u201d", "\u201cI am not a machine\u201d"]
    # Nothing else has an id: Pagefind makes a sub-result of each heading with one.
    assert len(doc.xpath("//*[@id]")) == 2
    assert not document(fixture_records["briefings/society/index.html"].html).xpath("//h2[not(@id)]")


def test_hostile_text_stays_text_in_the_document(tmp_path):
    payload = '<script>alert(1)</script> "quoted" & <img src=x onerror=alert(2)> \u201c'
    files = {
        "site.yaml": "title: T\n",
        "evil/annotations.yaml": f"""
            title: '{payload} title'
            date: 2025-01-01
            summary: '{payload} summary'
            tags: [evil]
            actors:
              - id: mallory
                name: '{payload} Mallory'
                kind: person
            quotes:
              - text: weaves
                speaker: mallory
            """,
        "evil/article.txt": "The engine weaves.\n",
    }
    doc_html = search.records(model(make_content(tmp_path, files)))[0].html
    doc = document(doc_html)
    assert not doc.xpath("//script | //img | //*[@onerror]")
    assert [e.tag for e in doc.iter()] == ["html", "body", "main", *["meta"] * 7, "p", "p", "h2", "p"]
    assert document_meta(doc)["title"] == f"{payload} title"
    assert document_filters(doc)["speaker"] == (f"{payload} Mallory",)
    assert doc.xpath("//main/p")[0].text_content().endswith("summary")
    assert doc.xpath("//main/h2")[0].text_content() == f"{payload} Mallory:"


def test_quote_anchors_are_the_card_ids_of_the_built_pages(tmp_path):
    src = make_content(tmp_path, FIXTURE)
    out = tmp_path / "out"
    build_ok(src, out)
    anchors = 0
    for record in search.records(model(src)):
        assert (out / record.url).is_file(), record.url
        if isinstance(record, search.Document):
            for heading in document(record.html).xpath("//h2[@id]"):
                anchor = heading.get("id")
                assert parse_html(out / record.url).xpath(f"//li[@class='quote-card'][@id='{anchor}']"), anchor
                anchors += 1
    assert anchors == 3


def test_actor_record(fixture_records):
    record = fixture_records["actors/ada-lovelace/index.html"]
    assert record.meta == {"title": "Ada Lovelace", "about": "person \u00b7 Mathematician and writer"}
    assert record.content == "Ada Lovelace. Mathematician and writer. Lovelace. Countess of Lovelace"
    # Tags and years of the briefings the actor is in; no speaker filter on actors.
    assert record.filters == {"type": ("Actor",), "actor": ("Ada Lovelace",),
                              "tag": ("computing", "science"), "year": ("2024", "2025")}
    assert "about" in fixture_records["actors/charles-babbage/index.html"].meta


def test_filters_come_in_a_fixed_order_and_only_briefings_have_speakers(fixture_records):
    for record in fixture_records.values():
        filters = document_filters(document(record.html)) if isinstance(record, search.Document) else record.filters
        assert list(filters) == [f for f in search.FILTERS if f in filters], record.url
        assert all(filters.values()), record.url
        assert ("speaker" in filters) == record.url.startswith("briefings/"), record.url


def test_metadata_holds_no_record_type_words(fixture_records):
    """Pagefind 1.5 indexes metadata values: a type word there would match every record of the type."""
    for record in fixture_records.values():
        meta = document_meta(document(record.html)) if isinstance(record, search.Document) else record.meta
        assert set(meta) == {"title", "about"}
        words = " ".join(meta.values()).lower()
        for word in ("quote", "briefing", "actor"):
            assert word not in words, record.url


def test_article_text_skips_briefkits_link_marks_and_separates_blocks():
    html = ('<p>First <mark class="quote"><a href="#quote-1">words</a></mark>'
            '<a href="#quote-1" class="quote-ref" aria-label="Quote 1">\u2197</a>.</p><p>Second'
            '<sup id="fnref:1"><a class="footnote-ref" href="#fn:1">1</a></sup> &amp; more</p>'
            '<div class="footnote"><ol><li><p>Note.<a class="footnote-backref" href="#fnref:1">\u21a9</a></p></li></ol></div>')
    assert search.article_text(html) == "First words. Second & more Note."


# --- the bundle ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("example") / "site"
    build_ok(EXAMPLE, out)
    return out


def bundle_files(site: Path) -> dict[str, bytes]:
    folder = site / "pagefind"
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def unpack(data: bytes):
    body = gzip.decompress(data)
    assert body.startswith(search.SIGNATURE)
    return body[len(search.SIGNATURE):]


def test_the_bundle_has_the_component_ui_and_the_index(example):
    files = bundle_files(example)
    for name in ("pagefind.js", "pagefind-worker.js", "pagefind-component-ui.js", "pagefind-component-ui.css",
                 "pagefind-entry.json", "wasm.en.pagefind"):
        assert name in files, name
    entry = json.loads(files["pagefind-entry.json"])
    assert entry["version"] == "1.5.2"
    assert list(entry["languages"]) == ["en"]
    assert f"pagefind.{entry['languages']['en']['hash']}.pf_meta" in files
    assert any(name.startswith("filter/") for name in files)
    assert any(name.startswith("index/") for name in files)
    assert (example / "search" / "index.html").is_file()


def fragments(bundle: dict[str, bytes]) -> list[dict]:
    return [json.loads(unpack(data)) for name, data in sorted(bundle.items()) if name.startswith("fragment/")]


def test_every_page_is_in_the_bundle_with_its_quotes_as_anchors(example):
    found = fragments(bundle_files(example))
    entry = json.loads(bundle_files(example)["pagefind-entry.json"])
    assert len(found) == entry["languages"]["en"]["page_count"]
    urls = [f["url"] for f in found]
    assert len(urls) == len(set(urls)) == 3 + len(list((example / "actors").glob("*/index.html")))
    anchors = [(f["url"], a["id"]) for f in found for a in f["anchors"]]
    assert len(anchors) == 16 and ("briefings/trump-putin-bomb-moscow/index.html", "quote-bomb-moscow") in anchors
    for url in urls:
        assert not url.startswith("/") and (example / url).is_file(), url
    for url, anchor in anchors:
        assert parse_html(example / url).xpath(f"//li[@class='quote-card'][@id='{anchor}']"), (url, anchor)


def test_pagefind_reads_the_documents_metadata_filters_and_headings(tmp_path):
    """What Pagefind makes of a briefing's document in HTML mode: metadata and filters as written,
    one anchor per quote (its sub-result) with the speaker as its text, the quotes in the content."""
    src = make_content(tmp_path, FIXTURE)
    build_ok(src, tmp_path / "out")
    by_url = {f["url"]: f for f in fragments(bundle_files(tmp_path / "out"))}
    engine = by_url["briefings/engine/index.html"]
    assert engine["meta"] == {"title": "The engine weaves patterns", "about": "5 November 2024"}
    assert {k: sorted(v) for k, v in engine["filters"].items()} == {
        "type": ["Briefing"], "speaker": ["Ada Lovelace", "Charles Babbage"],
        "actor": ["Ada Lovelace", "Charles Babbage"], "tag": ["computing", "science"], "year": ["2024"]}
    assert [(a["element"], a["id"], a["text"]) for a in engine["anchors"]] == [
        ("h2", "quote-weaves", "Ada Lovelace to Charles Babbage:"), ("h2", "quote-2", "Charles Babbage:")]
    content = engine["content"]
    assert content.startswith("Lovelace explains the engine. Ada Lovelace wrote to Charles Babbage.")
    words = content.split()
    at = engine["anchors"][0]["location"]
    assert " ".join(words[at:at + 10]) == \
        "Ada Lovelace to Charles Babbage: \u201cThe engine weaves algebraic patterns\u201d"
    actor = by_url["actors/ada-lovelace/index.html"]
    assert actor["meta"]["title"] == "Ada Lovelace" and actor["anchors"] == []


def test_pagefind_hash_is_the_one_pagefind_names_its_files_by(example):
    checked = 0
    for name, data in bundle_files(example).items():
        if name.startswith(("fragment/", "index/", "filter/")):
            stem = name.split("/")[1].split(".")[0]
            assert stem == "en_" + pagefind_hash(unpack(data))[:7], name
            checked += 1
    assert checked > 10


def test_cbor_round_trip():
    for value in (0, 23, 24, 255, 256, 65536, 2**40, -1, -25, -1000, "", "é\u201c", [], [1, ["a", [2, -3]]],
                  True, False, None, b"\x00\xff"):
        assert cbor_decode(cbor_encode(value)) == value
    assert cbor_encode([1, "ab"]) == b"\x82\x01\x62ab"


def shuffled_like_another_run(files: dict[str, bytes], seed: int) -> dict[str, bytes]:
    """The bundle as another Pagefind run may write it: filters and filter values in another
    (hash-map) order, so other filter file names, meta file name and entry."""
    rng = random.Random(seed)
    out = dict(files)
    entry_text = files["pagefind-entry.json"].decode()
    entry = json.loads(entry_text)
    old_meta = entry["languages"]["en"]["hash"]
    meta = cbor_decode(unpack(files[f"pagefind.{old_meta}.pf_meta"]))
    filters = []
    for name, old_hash in meta[3]:
        index = cbor_decode(unpack(out.pop(f"filter/{old_hash}.pf_filter")))
        rng.shuffle(index[1])
        body = cbor_encode(index)
        new_hash = "en_" + pagefind_hash(body)[:7]
        out[f"filter/{new_hash}.pf_filter"] = gzip.compress(search.SIGNATURE + body)
        filters.append([name, new_hash])
    rng.shuffle(filters)
    meta[3] = filters
    body = cbor_encode(meta)
    new_meta = "en_" + pagefind_hash(body)[:10]
    del out[f"pagefind.{old_meta}.pf_meta"]
    out[f"pagefind.{new_meta}.pf_meta"] = gzip.compress(search.SIGNATURE + body)
    out["pagefind-entry.json"] = entry_text.replace(old_meta, new_meta).encode()
    return out


def test_canonical_bundle_does_not_depend_on_pagefinds_hash_map_order(example):
    files = bundle_files(example)
    assert canonical_bundle(files) == files  # the build wrote it canonical
    for seed in range(5):
        other = shuffled_like_another_run(files, seed)
        assert other != files
        assert canonical_bundle(other) == files


def test_canonical_bundle_lists_filters_in_order_and_values_alphabetically(example):
    files = bundle_files(example)
    entry = json.loads(files["pagefind-entry.json"])
    meta = cbor_decode(unpack(files[f"pagefind.{entry['languages']['en']['hash']}.pf_meta"]))
    assert [name for name, _ in meta[3]] == list(search.FILTERS)
    for name, hash_ in meta[3]:
        index = cbor_decode(unpack(files[f"filter/{hash_}.pf_filter"]))
        values = [value for value, _pages in index[1]]
        assert index[0] == name and values == sorted(values) and values
    speakers = cbor_decode(unpack(files[f"filter/{dict(meta[3])['speaker']}.pf_filter"]))
    assert "Donald Trump" in [value for value, _ in speakers[1]]


def test_canonical_bundle_leaves_a_bundle_it_does_not_know_alone():
    odd = {"pagefind-entry.json": b'{"languages": {"en": {"hash": "en_missing"}}}', "x.js": b"x"}
    assert canonical_bundle(odd) == odd
    assert canonical_bundle({"pagefind.js": b""}) == {"pagefind.js": b""}


# --- shards -------------------------------------------------------------------------------------


def test_shards_are_stable_and_even():
    size = search.SHARD_SIZE
    assert [search.shard_count(n) for n in (0, 1, size, size + 1, 20 * size)] == [1, 1, 1, 2, 20]
    urls = [f"briefings/briefing-{n:05}/index.html" for n in range(20 * size)]
    sizes = [0] * 20
    for url in urls:
        sizes[search.shard_of(url, 20)] += 1
    assert all(0.85 * size < n < 1.15 * size for n in sizes), sizes
    # Adding briefings moves none of the others while the count of shards stays the same (from
    # 19 x SHARD_SIZE + 1 to 20 x SHARD_SIZE briefings), wherever the new ones come in the order.
    documents = [search.Document(url, "<p>x</p>") for url in urls]
    where = lambda parts: {d.url: i for i, part in parts.items() for d in part}  # noqa: E731
    fewer = where(search.shards(documents[::2] + documents[1::2][:9 * size + 1]))
    assert len(fewer) == 19 * size + 1
    everything = where(search.shards(documents))
    assert all(everything[url] == shard for url, shard in fewer.items())


def test_shards_keep_the_order_and_put_the_actors_in_shard_0(monkeypatch, fixture_site):
    items = search.records(fixture_site)
    assert search.shards(items) == {0: items}  # one shard: all of it, as it was
    monkeypatch.setattr(search, "SHARD_SIZE", 1)
    parts = search.shards(items)
    assert sorted(u for part in parts.values() for u in (r.url for r in part)) == sorted(r.url for r in items)
    for shard, part in parts.items():
        assert [r for r in items if r in part] == list(part)  # the order given
        assert all(search.shard_of(r.url, 2) == shard for r in part if isinstance(r, search.Document))
    assert {r.url for r in items if isinstance(r, Record)} <= {r.url for r in parts[0]}


def test_a_small_site_is_one_bundle_the_search_page_does_not_merge(example):
    assert not (example / "pagefind" / "shards").exists()
    assert not parse_html(example / "search" / "index.html").xpath("//*[@data-merge-bundles]")


SHARDED = {**FIXTURE, **{k: v for n in range(5) for k, v in simple_briefing(
    f"extra-{n}", title=f"Extra number {n}", date=f"2023-0{n + 1}-01").items()}}


def shard_urls(out: Path, folder: str) -> list[str]:
    bundle = out / folder
    return [f["url"] for f in fragments({p.relative_to(bundle).as_posix(): p.read_bytes()
                                         for p in (bundle / "fragment").iterdir()})]


def test_a_large_site_is_sharded_the_same_whatever_the_jobs(tmp_path, monkeypatch):
    monkeypatch.setattr(search, "SHARD_SIZE", 2)  # 7 briefings: 4 shards
    src = make_content(tmp_path, SHARDED)
    site = model(src)
    build_ok(src, tmp_path / "one", "--jobs", "1", "--no-cache")
    build_ok(src, tmp_path / "two", "--jobs", "2", "--no-cache")
    assert snapshot(tmp_path / "one") == snapshot(tmp_path / "two")
    out = tmp_path / "one"
    merged = search.merged_bundles(site)
    assert merged and set(merged) <= {f"pagefind/shards/{n}/" for n in (1, 2, 3)}
    assert sorted(p.name for p in (out / "pagefind" / "shards").iterdir()) == sorted(m.split("/")[2] for m in merged)
    page = parse_html(out / "search" / "index.html")
    assert page.xpath("//@data-merge-bundles") == [" ".join(f"../{m}" for m in merged)]
    seen = []
    for shard, folder in [(0, "pagefind"), *((int(m.split("/")[2]), m) for m in merged)]:
        urls = shard_urls(out, folder)
        briefings = [u for u in urls if u.startswith("briefings/")]
        assert all(search.shard_of(u, 4) == shard for u in briefings), (shard, urls)
        assert all(u.startswith("briefings/") for u in urls) or shard == 0
        seen.extend(urls)
        if shard:  # a merged shard holds its index, not a second copy of Pagefind's script, UI or WebAssembly
            names = {p.relative_to(out / folder).as_posix().split("/")[0] for p in (out / folder).rglob("*")}
            assert not [n for n in names if n.endswith((".js", ".css")) or n.startswith("wasm.")], names
            assert {"pagefind-entry.json", "fragment", "index", "filter"} <= names
    assert sorted(seen) == sorted(r.url for r in search.records(site))


def test_an_edit_indexes_only_its_shard_again(tmp_path, monkeypatch):
    monkeypatch.setattr(search, "SHARD_SIZE", 2)
    monkeypatch.setenv("BRIEFKIT_CACHE", str(tmp_path / "cache"))
    log = tmp_path / "runs.txt"  # a cached build indexes in a forked process: it tells by a file
    real = search._run_pagefind

    async def counting(items, language):
        with log.open("a") as handle:
            handle.write(" ".join(item.url for item in items) + "\n")
        return await real(items, language)

    def runs() -> list[list[str]]:
        return [line.split() for line in log.read_text().splitlines()]

    monkeypatch.setattr(search, "_run_pagefind", counting)
    src = make_content(tmp_path, SHARDED)
    out = tmp_path / "out"
    build_ok(src, out)
    shards = len(runs())
    assert shards == 1 + len(search.merged_bundles(model(src)))
    annotations = src / "extra-3" / "annotations.yaml"
    annotations.write_text(annotations.read_text().replace("Extra number 3", "Extra number three"))
    build_ok(src, out)
    assert len(runs()) == shards + 1 and "briefings/extra-3/index.html" in runs()[-1]
    build_ok(src, tmp_path / "cold", "--no-cache")
    assert snapshot(out) == snapshot(tmp_path / "cold")


def test_missing_shards_are_indexed_by_up_to_jobs_pagefind_processes_at_once(tmp_path, monkeypatch):
    import asyncio

    monkeypatch.setattr(search, "SHARD_SIZE", 2)
    items = search.records(model(make_content(tmp_path, SHARDED)))
    running, most = [0], [0]

    async def fake(part, language):
        running[0] += 1
        most[0] = max(most[0], running[0])
        await asyncio.sleep(0.05)
        running[0] -= 1
        return {}

    monkeypatch.setattr(search, "_run_pagefind", fake)
    for jobs in (1, 2, 3):
        most[0] = 0
        finished = []
        count = search._index(list(search.shards(items).values()), "en", jobs,
                              lambda i, files: finished.append(i) or i + 1)
        assert sorted(finished) == list(range(len(search.shards(items))))
        assert count == sum(range(1, len(finished) + 1))
        assert most[0] == min(jobs, len(search.shards(items))), jobs


def test_the_files_of_bundles_written_at_once_are_all_counted(tmp_path, monkeypatch):
    """Bundles finishing together are written in threads of their own: none's count is lost."""
    monkeypatch.setattr(search, "SHARD_SIZE", 2)
    site = model(make_content(tmp_path, SHARDED))
    items = search.records(site)
    shard_count = len(search.shards(items))
    assert shard_count >= 3

    async def fake(part, language):
        return {"pagefind-entry.json": b"{}", "index/x.pf_index": b"x", "index/y.pf_index": b"y"}

    real_write = search._write_bundle

    def slow_write(bundle, files):
        time.sleep(0.05)  # another shard's bundle arrives meanwhile
        return real_write(bundle, files)

    monkeypatch.setattr(search, "_run_pagefind", fake)
    monkeypatch.setattr(search, "_write_bundle", slow_write)
    for jobs in (1, 3):
        folder = tmp_path / f"site-{jobs}"
        assert search.write_index(site, folder, items, jobs=jobs) == \
            sum(1 for path in folder.rglob("*") if path.is_file())


def test_each_shards_bundle_is_written_and_kept_as_soon_as_it_is_made(tmp_path, monkeypatch):
    """Not held until every shard is indexed: while Pagefind indexes the last shard, the bundles of
    the others are on disk (the site's folder and the memo) already."""
    import asyncio

    from briefkit.cache import SearchMemo

    monkeypatch.setattr(search, "SHARD_SIZE", 2)
    site = model(make_content(tmp_path, SHARDED))
    items = search.records(site)
    parts = list(search.shards(items).values())
    assert len(parts) >= 3
    folder, memo = tmp_path / "site", SearchMemo(tmp_path / "cache")
    seen = []

    def others_written() -> bool:
        return len(list(folder.rglob("x.pf_index"))) == len(list((tmp_path / "cache").glob("*/index/x.pf_index"))) \
            == len(parts) - 1

    async def fake(part, language):
        if part == parts[-1]:  # waits for them (the build used to write them after this one)
            deadline = time.monotonic() + 20
            while not others_written() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            seen.append(others_written())
        return {"pagefind-entry.json": b"{}", "index/x.pf_index": part[0].url.encode()}

    monkeypatch.setattr(search, "_run_pagefind", fake)
    assert search.write_index(site, folder, items, memo) == 2 * len(parts)
    assert seen == [True]
    assert len(list(folder.rglob("x.pf_index"))) == len(parts)


def test_documents_are_sent_in_order_with_at_most_a_window_unanswered(tmp_path, monkeypatch):
    """A shard's documents are not all queued at once (they were: a shard's text in memory twice),
    and the bundle is the one Pagefind makes of them all sent at once."""
    import asyncio

    from pagefind.service import PagefindService

    items = search.records(model(make_content(tmp_path, SHARDED)))
    sent, waiting, most = [], [0], [0]
    real_send = PagefindService.send

    async def counting_send(self, payload):
        if payload.get("type") != "AddFile":
            return await real_send(self, payload)
        sent.append(payload["url"])
        waiting[0] += 1
        most[0] = max(most[0], waiting[0])
        try:
            return await real_send(self, payload)
        finally:
            waiting[0] -= 1

    monkeypatch.setattr(PagefindService, "send", counting_send)
    monkeypatch.setattr(search, "ADDS_IN_FLIGHT", 2)
    windowed = search.canonical_bundle(asyncio.run(search._run_pagefind(items, "en")))
    documents = [item.url for item in items if isinstance(item, search.Document)]
    assert sent == documents and most[0] == 2
    monkeypatch.setattr(search, "ADDS_IN_FLIGHT", len(items))
    sent.clear()
    assert search.canonical_bundle(asyncio.run(search._run_pagefind(items, "en"))) == windowed


def test_the_memo_keeps_bundles_on_disk_and_the_site_links_to_them(tmp_path):
    from briefkit.cache import SearchMemo

    folder = tmp_path / "cache" / "search-v1"
    (tmp_path / "cache" / "search-v0").mkdir(parents=True)  # made by other code
    files = {"pagefind.js": b"js", "fragment/en_1.pf_fragment": b"one"}
    memo = SearchMemo(folder)
    assert memo.get("a") is None
    memo.put("a", files)
    again = SearchMemo(folder).get("a")  # another build reads it back: paths to the files
    assert {name: path.read_bytes() for name, path in again.items()} == files
    site = tmp_path / "site"
    assert search._write_bundle(site, again) == 2
    assert (site / "fragment" / "en_1.pf_fragment").read_bytes() == b"one"
    assert (site / "fragment" / "en_1.pf_fragment").stat().st_nlink == 2  # a hard link, not a copy
    (folder / "a" / "pagefind.js").write_bytes(b"damaged")
    assert SearchMemo(folder).get("a") is None  # a damaged bundle is a miss
    memo.put("b", files)
    memo.keep_only({"b"})
    assert sorted(p.name for p in folder.iterdir()) == ["b"]
    # The old bundle went to the cache's trash, emptied by a detached process.
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["replaced", "search-v1"]
    trash = tmp_path / "cache" / "replaced" / "trash"
    deadline = time.monotonic() + 20
    while any(trash.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(trash.iterdir())


def test_the_memo_links_a_new_bundles_unchanged_files_to_those_of_the_bundles_it_has(tmp_path):
    from briefkit.cache import SearchMemo

    folder = tmp_path / "search"
    memo = SearchMemo(folder)
    memo.put("a", {"fragment/en_1.pf_fragment": b"one", "fragment/en_2.pf_fragment": b"two", "entry.json": b"{1}"})
    (folder / "a" / "fragment" / "en_2.pf_fragment").write_bytes(b"TWO")  # same size, other bytes
    memo.put("b", {"fragment/en_1.pf_fragment": b"one", "fragment/en_2.pf_fragment": b"two",
                   "fragment/en_3.pf_fragment": b"three", "entry.json": b"{2}"})
    a, b = folder / "a", folder / "b"
    assert (b / "fragment/en_1.pf_fragment").stat().st_ino == (a / "fragment/en_1.pf_fragment").stat().st_ino
    assert (b / "fragment/en_2.pf_fragment").stat().st_ino != (a / "fragment/en_2.pf_fragment").stat().st_ino
    again = SearchMemo(folder).get("b")
    assert {name: path.read_bytes() for name, path in again.items()} == {
        "fragment/en_1.pf_fragment": b"one", "fragment/en_2.pf_fragment": b"two",
        "fragment/en_3.pf_fragment": b"three", "entry.json": b"{2}"}
    memo.put("c", {"../outside": b"x"})  # a name outside the bundle: not kept (write_index refuses it)
    assert not (folder / "outside").exists() and not (tmp_path / "outside").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["a", "b"]


# --- the build --------------------------------------------------------------------------------


@pytest.mark.parametrize("pagefind", ["missing", "exits at once", "talks nonsense"])
def test_a_failing_index_leaves_the_previous_site_untouched(tmp_path, monkeypatch, pagefind):
    src = make_content(tmp_path, FIXTURE)
    out = tmp_path / "out"
    build_ok(src, out)
    before = snapshot(out)
    fake = tmp_path / "bin" / "pagefind"
    if pagefind != "missing":
        fake.parent.mkdir()
        fake.write_text("#!/bin/sh\n" + ("exit 3\n" if pagefind == "exits at once" else "echo nonsense,\n"))
        fake.chmod(0o755)
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(fake))
    (src / "engine" / "annotations.yaml").write_text(
        (src / "engine" / "annotations.yaml").read_text().replace("weaves patterns", "weaves"))
    code, stdout, stderr = build_site(src, out)
    assert code == 2, stderr
    assert "cannot build the search index" in stderr and "left as it was" in stderr
    assert "Traceback" not in stderr
    assert snapshot(out) == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no temporary folder left


def test_write_site_runs_finish_in_the_new_folder_before_the_swap(tmp_path):
    out = tmp_path / "site"
    write_site([Output("index.html", b"old")], out)
    seen = []

    def finish(folder: Path) -> int:
        seen.append((folder != out, (folder / "index.html").read_bytes(), out.joinpath("index.html").read_bytes()))
        (folder / "pagefind").mkdir()
        (folder / "pagefind" / "a.js").write_bytes(b"a")
        return 1

    assert write_site([Output("index.html", b"new")], out, finish=finish) == 2
    assert seen == [(True, b"new", b"old")]
    assert (out / "pagefind" / "a.js").read_bytes() == b"a"

    def fail(folder: Path) -> int:
        raise SearchIndexError("no")

    before = snapshot(out)
    with pytest.raises(SearchIndexError):
        write_site([Output("index.html", b"newer")], out, finish=fail)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_builds_report_the_search_stage(tmp_path):
    code, stdout, stderr = build_site(make_content(tmp_path, FIXTURE), tmp_path / "out")
    assert code == 0, stderr
    assert ", search " in stdout


# --- the search page and the header box ----------------------------------------------------------


def test_search_page_uses_the_component_ui_with_relative_links(example):
    doc = parse_html(example / "search" / "index.html")
    scripts = [s.get("src") for s in doc.xpath("//script[@src]")]
    assert "../pagefind/pagefind-component-ui.js" in scripts
    assert "../assets/search.js" in scripts
    assert scripts.index("../assets/search.js") < scripts.index("../pagefind/pagefind-component-ui.js")
    styles = [link.get("href") for link in doc.xpath("//link[@rel='stylesheet']")]
    assert "../pagefind/pagefind-component-ui.css" in styles and "../assets/search.css" in styles
    for element in ("pagefind-input", "pagefind-results", "pagefind-filter-pane", "pagefind-summary"):
        assert len(doc.xpath(f"//main//{element}")) == 1, element
    for path in scripts + styles:
        assert not path.startswith(("/", "http:", "https:")), path
        assert (example / "search" / path).resolve().is_file(), path


def test_search_page_without_javascript_says_so_and_links_to_the_indexes(example):
    page = (example / "search" / "index.html").read_text(encoding="utf-8")
    start, end = page.index("<noscript>"), page.index("</noscript>")
    fallback = lxml.html.fragment_fromstring(page[start + len("<noscript>"):end], create_parent="div")
    assert "JavaScript" in fallback.text_content()
    links = fallback.xpath(".//a/@href")
    assert "../tags/index.html" in links and "../actors/index.html" in links


def test_every_page_has_the_header_box_leading_to_the_search_page(example):
    pages = sorted(example.rglob("*.html"))
    assert len(pages) > 20
    for path in pages:
        if path.name == "404.html":
            continue  # linked from the site root, as the 404 page is served at any depth
        page = path.relative_to(example).as_posix()
        forms = parse_html(path).xpath("//header//form[@role='search']")
        assert len(forms) == 1, page
        form = forms[0]
        assert form.get("method") == "get"
        assert (path.parent / form.get("action")).resolve() == (example / "search" / "index.html").resolve(), page
        assert form.xpath(".//input[@name='q'][@type='search']") and form.xpath(".//label[@for]"), page


def test_no_page_but_the_search_page_loads_pagefind(example):
    for path in sorted(example.rglob("*.html")):
        doc = parse_html(path)
        loads = doc.xpath("//script/@src | //link/@href")
        uses = [u for u in loads if "pagefind/" in u]
        if path.relative_to(example).as_posix() == "search/index.html":
            assert uses
        else:
            assert not uses, path


class ParserReading(HTMLParser):
    """The reference reading of an article's words, with html.parser (what `article_text` replaced)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[bool] = []

    def handle_starttag(self, tag, attrs):
        if tag in search.TEXT_BLOCKS:
            self.parts.append(" ")
        if tag in search.TEXT_VOIDS:
            return
        classes = set((dict(attrs).get("class") or "").split())
        self.stack.append(bool(classes & search.SKIP_CLASSES) or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()
        if tag in search.TEXT_BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def parser_reading(html: str) -> str:
    reader = ParserReading()
    reader.feed(html)
    reader.close()
    return " ".join("".join(reader.parts).split())


RENDERER = Renderer()
ARTICLE_PIECES = st.one_of(
    st.sampled_from(["\n\n", "*em* ", "**strong** ", "`code` ", "> quote\n", "- item\n", "1. one\n", "# Head\n",
                     "[link](https://example.org/a?b=1&c=2 \"a > b & c\") ", "![alt > x](https://e.org/i.png)",
                     "Text[^1] ", "\n\n[^1]: A note.\n", "a &amp; b &lt;c&gt; ", "<b>raw</b> ", "<br/>", "<3 ",
                     "| a | b |\n|---|---|\n| 1 | 2 |\n", "    code block\n", "x<y>z ", "&#x2019; &nbsp; "]),
    st.text(max_size=15))


@given(st.lists(ARTICLE_PIECES, max_size=20).map("".join))
def test_article_text_reads_rendered_articles_as_html_parser_does(text):
    for fmt in ("md", "txt"):
        html = RENDERER.article(text, fmt, (), ()).html
        assert search.article_text(html) == parser_reading(html), html


def test_article_text_reads_the_example_sites_articles_as_html_parser_does():
    report = Report()
    site = build_model(load_content(EXAMPLE, "briefings", report), Options(None, False), report)
    assert site.briefings
    for briefing in site.briefings:
        assert search.article_text(briefing.article_html) == parser_reading(briefing.article_html)


def test_background_work_gives_its_result_or_its_exception_and_can_be_stopped():
    from briefkit.search import Background

    def failing():
        raise SearchIndexError("the Pagefind service stopped")

    def unpicklable():
        raise ValueError(lambda: None)  # cannot be sent back as it is

    assert Background(lambda: 40 + 2).result() == 42
    with pytest.raises(SearchIndexError, match="the Pagefind service stopped"):
        Background(failing).result()
    with pytest.raises(SearchIndexError, match="ValueError"):
        Background(unpicklable).result()
    started = time.monotonic()
    Background(lambda: time.sleep(30)).cancel()
    assert time.monotonic() - started < 20


def test_a_standby_process_runs_the_function_handed_to_it_later_or_ends_unused():
    import functools
    import os
    import pickle
    import signal

    from briefkit.search import Standby

    standby = Standby()
    assert standby.run(pickle.dumps(functools.partial(int, "42"))).result() == 42
    with pytest.raises(ValueError, match="invalid literal"):
        Standby().run(pickle.dumps(functools.partial(int, "forty-two"))).result()
    standby = Standby()
    started = time.monotonic()
    standby.run(pickle.dumps(functools.partial(time.sleep, 30))).cancel()
    assert time.monotonic() - started < 20
    # Not needed: ended, and reaped (no zombie left).
    standby = Standby()
    pid = standby.pid
    standby.close()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    # Gone before it was given the function: the build is told, not left waiting.
    standby = Standby()
    os.kill(standby.pid, signal.SIGKILL)
    with pytest.raises(SearchIndexError, match="the indexing process died"):
        standby.run(pickle.dumps(functools.partial(int, "1"))).result()


def test_the_early_index_gets_a_cached_document_by_its_place_not_its_html(tmp_path):
    # The standby process was forked before the archive was loaded: what it is handed is pickled,
    # and 10,000 documents' HTML would be tens of MB. A document still in memory goes whole.
    import pickle

    from briefkit.pipeline import SpooledDocument, index_items, index_job, spooled

    def model_of_example():
        report = Report()
        return build_model(load_content(EXAMPLE, "briefings", report), Options(None, False), report)

    html = "<main><h1>Zebracorn</h1><p>A rare beast.</p></main>"
    entry = tmp_path / "entry"
    entry.write_bytes(b"pickle..." + html.encode("utf-8"))
    cached = object.__new__(SpooledDocument)
    cached.__dict__.update(url="briefings/zebra/index.html", place=(str(entry), 9, len(html.encode())),
                           digest="d1")
    fresh = spooled((search.Document("briefings/fresh/index.html", "<main><p>Fresh okapi.</p></main>"),))[0]
    config = model_of_example().config
    job = index_job(config, tmp_path / "site", [cached, fresh], None, 1)
    assert b"Zebracorn" not in job and b"Fresh okapi" in job
    handed = pickle.loads(job)
    assert handed.func is index_items
    given, folder, (zebra, okapi), memo, jobs = handed.args
    assert (zebra.url, zebra.html, zebra.digest) == ("briefings/zebra/index.html", html, "d1")
    assert (okapi.url, okapi.html) == ("briefings/fresh/index.html", "<main><p>Fresh okapi.</p></main>")
    assert (given, folder, memo, jobs) == (config, tmp_path / "site", None, 1)
