"""Exports: annotations.jsonld (W3C Web Annotation) per briefing, data/*.json for the site.

Every export is validated against its JSON Schema in schemas/exports/, and every selector is
re-found in the page as an HTML parser (lxml) reads it: the TextPositionSelector's span of the
`data-article` element's text is the TextQuoteSelector's `exact`, with `prefix` right before it
and `suffix` right after. One test compares that text with Chromium's `textContent`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from conftest import EXAMPLE, REPO, article_element, briefing_page, build_ok, make_content, snapshot

SCHEMAS = REPO / "schemas" / "exports"
DATA_FILES = ("briefings", "actors", "quotes", "timeline")

# Quotes with emphasis and links inside, an elision, entities, non-ASCII, a mention inside a
# quote, a code block whose first newline the parser drops, and a footnote.
TRICKY = {
    "site.yaml": """
        title: Tricky
        base_url: https://tricky.example.org/sub/
        author: Tricky Desk
        """,
    "actors.yaml": """
        zoe-moreau:
          name: Zoé Moreau
          kind: person
          aliases: [Moreau]
          wikidata: Q42
        """,
    "harbour/annotations.yaml": """
        title: Harbour fees & "small boats"
        date: 2025-03-04
        summary: Fees, again.
        source:
          url: https://news.example.org/story?id=1&lang=fr#top
        actors:
          - id: zoe-moreau
          - id: port-board
            name: Port Board
            kind: organization
        quotes:
          - id: fees
            text: "The fees – all of them – are a tax on small boats & their crews"
            speaker: zoe-moreau
            to: port-board
            note: Said at the *quay*.
          - text: "We can't [...] wait, Moreau said"
            speaker: zoe-moreau
          - text: déjà vu
            speaker: zoe-moreau
        timeline:
          - date: 2025-03-01
            text: Fees rise <again>.
        """,
    "harbour/article.md": """
        # Harbour

        Zoé Moreau said: “The fees – *all* of them – are a tax on [small boats](https://example.org/b) &amp; their crews.”

        “We can't, we really can't, wait, Moreau said,” said the&nbsp;Port Board, with a sense of déjà vu.[^1]

        ```
        code with Moreau inside
        ```

        [^1]: A footnote about the Port Board.
        """,
}


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))


def validate(instance: object, name: str) -> None:
    validator = jsonschema.Draft202012Validator(schema(name), format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("example") / "site"
    build_ok(EXAMPLE, out)
    return out


@pytest.fixture(scope="module")
def tricky(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tricky")
    src = make_content(root, TRICKY)
    build_ok(src, root / "site")
    return root / "site"


def slugs(out: Path) -> list[str]:
    return sorted(p.parent.name for p in (out / "briefings").glob("*/annotations.jsonld"))


def test_export_schemas_are_valid_json_schemas():
    for name in ("annotations", *DATA_FILES):
        jsonschema.Draft202012Validator.check_schema(schema(name))


@pytest.mark.parametrize("site", ["example", "tricky"])
def test_exports_validate_against_their_schemas(site, request):
    out = request.getfixturevalue(site)
    assert slugs(out), "no annotations.jsonld written"
    for slug in slugs(out):
        validate(load(out / "briefings" / slug / "annotations.jsonld"), "annotations")
    for name in DATA_FILES:
        validate(load(out / "data" / f"{name}.json"), name)


def test_check_jsonschema_accepts_the_exports(example):
    """The command editors and CI use, on the real files (local schema, nothing fetched)."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "check_jsonschema", "--no-cache", "--schemafile",
                           str(SCHEMAS / "quotes.schema.json"), str(example / "data" / "quotes.json")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_schema_rejects_a_broken_export(tricky):
    data = load(tricky / "briefings" / "harbour" / "annotations.jsonld")
    data["first"]["items"][0]["target"]["selector"][0].pop("exact")
    with pytest.raises(AssertionError, match="exact"):
        validate(data, "annotations")


def selectors(annotation: dict) -> tuple[dict, dict]:
    quote, scoped = annotation["target"]["selector"]
    return quote, scoped["refinedBy"]


@pytest.mark.parametrize("site", ["example", "tricky"])
def test_every_selector_refinds_its_text_in_the_rendered_page(site, request):
    out = request.getfixturevalue(site)
    checked = total = 0
    for slug in slugs(out):
        text = article_element(briefing_page(out, slug)).text_content()
        collection = load(out / "briefings" / slug / "annotations.jsonld")
        total += collection["total"]
        for annotation in collection["first"]["items"]:
            quote, position = selectors(annotation)
            start, end = position["start"], position["end"]
            assert text[start:end] == quote["exact"], annotation["id"]
            assert text[:start].endswith(quote["prefix"]) and text[end:].startswith(quote["suffix"]), annotation["id"]
            assert len(quote["prefix"]) == min(32, start) and len(quote["suffix"]) == min(32, len(text) - end)
            checked += 1
    assert checked == total > 0


def test_one_annotation_per_quote_and_per_mention(tricky):
    doc = briefing_page(tricky, "harbour")
    article = article_element(doc)
    items = load(tricky / "briefings" / "harbour" / "annotations.jsonld")["first"]["items"]
    quotes = [a for a in items if a["motivation"] == "describing"]
    mentions = [a for a in items if a["motivation"] == "identifying"]
    assert [a["id"].rsplit("#", 1)[1] for a in quotes] == ["quote-fees", "quote-2", "quote-3"]
    # Each mention element (a mention split by markup is several elements with no text between).
    mention_texts = [el.text_content() for el in article.xpath(".//*[@data-actor]")]
    assert [selectors(a)[0]["exact"] for a in mentions] == mention_texts
    # None in the code block; the footnote's counts (it is in the article text).
    assert mention_texts == ["Zoé Moreau", "Moreau", "Port Board", "Port Board"]
    assert [a["id"].rsplit("#", 1)[1] for a in mentions] == ["mention-zoe-moreau-1", "mention-zoe-moreau-2",
                                                                "mention-port-board-1", "mention-port-board-2"]
    assert len({a["id"] for a in items}) == len(items)


def test_quote_annotation_carries_speaker_recipient_note_and_the_passage(tricky):
    data = load(tricky / "briefings" / "harbour" / "annotations.jsonld")
    assert data["@context"][0] == "http://www.w3.org/ns/anno.jsonld"
    assert data["id"] == "https://tricky.example.org/sub/briefings/harbour/annotations.jsonld"
    assert data["total"] == len(data["first"]["items"]) == 7
    fees = data["first"]["items"][0]
    assert fees["body"] == [
        {"type": "SpecificResource", "purpose": "identifying", "schema:roleName": "speaker",
         "source": {"id": "https://tricky.example.org/sub/actors/zoe-moreau/", "name": "Zoé Moreau",
                    "type": "Person"}},
        {"type": "SpecificResource", "purpose": "identifying", "schema:roleName": "recipient",
         "source": {"id": "https://tricky.example.org/sub/actors/port-board/", "name": "Port Board",
                    "type": "Organization"}},
        {"type": "TextualBody", "purpose": "describing", "value": "Said at the <em>quay</em>.",
         "format": "text/html", "language": "en"}]
    assert fees["creator"] == {"type": "Organization", "name": "Tricky Desk"}
    assert fees["target"]["source"] == "https://tricky.example.org/sub/briefings/harbour/"
    quote, _ = selectors(fees)
    # The rendered text: no Markdown, the entity as its character, the link's words.
    assert quote["exact"] == "The fees – all of them – are a tax on small boats & their crews"
    assert quote["prefix"].endswith("Zoé Moreau said: “") and quote["suffix"].startswith(".”")
    elided = selectors(data["first"]["items"][1])[0]
    assert elided["exact"] == "We can't, we really can't, wait, Moreau said"  # first part to last


def test_mention_annotation_links_to_wikidata(tricky):
    items = load(tricky / "briefings" / "harbour" / "annotations.jsonld")["first"]["items"]
    mention = next(a for a in items if a["id"].endswith("#mention-zoe-moreau-1"))
    assert mention["body"][1] == {"type": "SpecificResource", "purpose": "linking",
                                  "source": "https://www.wikidata.org/wiki/Q42"}


def test_page_links_its_annotations_in_head_and_body(tricky):
    doc = briefing_page(tricky, "harbour")
    alternate = doc.xpath("//head/link[@rel='alternate'][@type='application/ld+json']")
    assert [link.get("href") for link in alternate] == ["annotations.jsonld"]
    visible = doc.xpath("//main//a[@href='annotations.jsonld']")
    assert len(visible) == 1 and "Web Annotations" in visible[0].text_content()


def test_without_base_url_links_are_relative(tmp_path):
    files = {k: v for k, v in TRICKY.items() if k != "site.yaml"}
    src = make_content(tmp_path, files)
    build_ok(src, tmp_path / "out")
    data = load(tmp_path / "out" / "briefings" / "harbour" / "annotations.jsonld")
    assert data["id"] == "annotations.jsonld"
    first = data["first"]["items"][0]
    assert first["target"]["source"] == "index.html"
    assert first["body"][0]["source"]["id"] == "../../actors/zoe-moreau/index.html"
    validate(data, "annotations")
    quotes = load(tmp_path / "out" / "data" / "quotes.json")["quotes"]
    assert "page_url" not in quotes[0]
    assert quotes[0]["path"] == "briefings/harbour/index.html#quote-fees"


def test_data_files_describe_the_site(tricky):
    briefings = load(tricky / "data" / "briefings.json")["briefings"]
    assert [b["slug"] for b in briefings] == ["harbour"]
    assert briefings[0]["page_url"] == "https://tricky.example.org/sub/briefings/harbour/"
    assert briefings[0]["source"] == {"url": "https://news.example.org/story?id=1&lang=fr#top"}
    actors = {a["id"]: a for a in load(tricky / "data" / "actors.json")["actors"]}
    assert actors["zoe-moreau"]["wikidata"] == "Q42" and actors["zoe-moreau"]["briefings"] == ["harbour"]
    quotes = load(tricky / "data" / "quotes.json")["quotes"]
    assert [(q["anchor"], q["speaker"], q["to"]) for q in quotes] == [
        ("quote-fees", "zoe-moreau", "port-board"), ("quote-2", "zoe-moreau", None), ("quote-3", "zoe-moreau", None)]
    assert quotes[0]["page_url"] == "https://tricky.example.org/sub/briefings/harbour/#quote-fees"
    assert quotes[0]["source_url"].startswith("https://news.example.org/story?id=1&lang=fr#top:~:text=")


def test_timeline_json_is_timelinejs(example):
    """TimelineJS3's format: a title slide; events with start_date parts and HTML text."""
    data = load(example / "data" / "timeline.json")
    site_events = []
    for slug in slugs(example):
        import yaml
        annotations = yaml.safe_load((EXAMPLE / slug / "annotations.yaml").read_text(encoding="utf-8"))
        site_events += [(str(e["date"]), e["text"]) for e in annotations.get("timeline", ())]
    exported = [(f"{e['start_date']['year']:04}-{e['start_date']['month']:02}-{e['start_date']['day']:02}",
                 e["text"]["headline"]) for e in data["events"]]
    from html import unescape
    assert sorted((d, unescape(t)) for d, t in exported) == sorted(site_events)
    assert [d for d, _ in exported] == sorted(d for d, _ in exported)
    assert data["title"]["text"]["headline"] == "Briefkit example briefings"
    assert all(e["text"]["text"].startswith('<a href="https://briefings.example.org/briefings/')
               for e in data["events"])


def test_timeline_text_is_escaped(tricky):
    event = load(tricky / "data" / "timeline.json")["events"][0]
    assert event["text"]["headline"] == "Fees rise &lt;again&gt;."
    assert event["text"]["text"] == ('<a href="https://tricky.example.org/sub/briefings/harbour/">'
                                     'Harbour fees &amp; &quot;small boats&quot;</a>')


def test_exports_are_byte_identical_across_builds(tmp_path):
    src = make_content(tmp_path, TRICKY)
    build_ok(src, tmp_path / "a")
    build_ok(src, tmp_path / "b")
    first, second = snapshot(tmp_path / "a"), snapshot(tmp_path / "b")
    exported = [p for p in first if p.startswith("data/") or p.endswith(".jsonld")]
    assert len(exported) == 5
    assert all(first[p] == second[p] for p in exported)


CHROMIUM = Path(os.environ.get("BRIEFKIT_CHROMIUM", "/usr/bin/chromium"))


def test_rendered_text_is_what_chromium_computes(tricky):
    """The text the selectors count in is the browser's `textContent` of the article element."""
    if not CHROMIUM.exists():
        if os.environ.get("CI", "") not in ("", "0", "false"):
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright
    page_file = tricky / "briefings" / "harbour" / "index.html"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(page_file.as_uri())
            browser_text = page.evaluate("document.querySelector('[data-article]').textContent")
        finally:
            browser.close()
    from briefkit.exports import page_text
    assert page_text(page_file.read_text(encoding="utf-8")).text == browser_text


def test_page_text_reuses_the_article_text_only_when_the_page_holds_it_as_is():
    from briefkit.exports import page_text
    from briefkit.textcontent import read_article
    article = '<p>Hi <mark data-quote="1">there</mark> &amp; bye</p>'
    known = (article, read_article(article, whole=True))
    as_is = f'<h1>T</h1><div class="a" data-article>\n{article}\n  </div><p>after</p>'
    wrapped = f'<div data-article>\n<section>{article}</section>x &lt; y</div>'
    for page in (as_is, wrapped):
        full = page_text(page)
        assert page_text(page, known) == full
    assert page_text(as_is).text == "\nHi there & bye\n  "
    assert page_text(as_is).quote_parts(1) == [(4, 9)]
    assert page_text(wrapped).text == "\nHi there & byex < y"
