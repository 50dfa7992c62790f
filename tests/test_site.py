"""The example site, built once: every output of contract section 7 and the markup of its pages."""

from __future__ import annotations

import json
import os
import posixpath
from pathlib import Path
from urllib.parse import unquote, urlsplit

import lxml.etree
import lxml.html
import pytest
import yaml

from briefkit.text.anchoring import quote_parts
from briefkit.text.folding import fold
from conftest import (EXAMPLE, REPO, article_element, briefing_page, build_ok, make_content, parse_html,
                      quote_marks, simple_briefing)

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"

SITE_CONFIG = yaml.safe_load((EXAMPLE / "site.yaml").read_text(encoding="utf-8"))
BASE_URL = SITE_CONFIG["base_url"]
REGISTRY = yaml.safe_load((EXAMPLE / "actors.yaml").read_text(encoding="utf-8"))
BRIEFINGS = {folder.name: yaml.safe_load((folder / "annotations.yaml").read_text(encoding="utf-8"))
             for folder in sorted(EXAMPLE.iterdir()) if folder.is_dir() and folder.name[0] not in "._"}
SLUGS = sorted(BRIEFINGS)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("example") / "site"
    build_ok(EXAMPLE, out)
    return out


def quote_key(quote: dict, number: int) -> str:
    return str(quote.get("id", number))


def actor_name(entry: dict) -> str:
    return entry.get("name") or REGISTRY[entry["id"]]["name"]


def html_files(out: Path) -> list[Path]:
    return sorted(out.rglob("*.html"))


# --- outputs of section 7 ---------------------------------------------------------------------


def test_every_contract_output_exists(site):
    expected = ["index.html", "actors/index.html", "tags/index.html", "timeline/index.html", "feed.xml",
                "sitemap.xml", "robots.txt", "404.html"]
    expected += [f"briefings/{slug}/index.html" for slug in SLUGS]
    actor_ids = {a["id"] for b in BRIEFINGS.values() for a in b.get("actors", ())}
    tags = {t for b in BRIEFINGS.values() for t in b.get("tags", ())}
    expected += [f"actors/{actor_id}/index.html" for actor_id in actor_ids]
    expected += [f"tags/{tag}/index.html" for tag in tags]
    missing = [path for path in expected if not (site / path).is_file()]
    assert not missing
    # ... and no page for anything that is not in the content.
    assert {p.parent.name for p in (site / "actors").glob("*/index.html")} == actor_ids
    assert {p.parent.name for p in (site / "tags").glob("*/index.html")} == tags
    assert {p.parent.name for p in (site / "briefings").glob("*/index.html")} == set(SLUGS)


def test_actors_and_tags_indexes_list_everything(site):
    def targets(page: str) -> set[str]:
        doc = parse_html(site / page)
        return {posixpath.normpath(posixpath.join(posixpath.dirname(page), href))
                for href in doc.xpath("//main//a/@href")}

    actor_ids = {a["id"] for b in BRIEFINGS.values() for a in b.get("actors", ())}
    assert {f"actors/{actor_id}/index.html" for actor_id in actor_ids} <= targets("actors/index.html")
    tags = {t for b in BRIEFINGS.values() for t in b.get("tags", ())}
    assert {f"tags/{tag}/index.html" for tag in tags} <= targets("tags/index.html")


# --- briefing page markup (section 7) ----------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_briefing_has_one_article_element(site, slug):
    doc = briefing_page(site, slug)
    article = article_element(doc)
    assert len(article.text_content().split()) > 50


@pytest.mark.parametrize("slug", SLUGS)
def test_quotes_are_marked_and_linked_both_ways(site, slug):
    doc = briefing_page(site, slug)
    article = article_element(doc)
    quotes = BRIEFINGS[slug].get("quotes", [])
    assert quotes
    for number, quote in enumerate(quotes, 1):
        key = quote_key(quote, number)
        marks = quote_marks(doc, number)
        assert marks, f"quote {number} is not marked"
        outermost = [m for m in marks if not any(a.get("data-quote") == str(number) for a in m.iterancestors())]
        joined = fold("".join(m.text_content() for m in outermost))
        parts = quote_parts(quote["text"])
        if len(parts) == 1:
            assert joined == parts[0], f"quote {number}"
        else:
            assert joined.startswith(parts[0]) and joined.endswith(parts[-1]), f"quote {number}"
            cursor = 0
            for part in parts:
                cursor = joined.find(part, cursor)
                assert cursor >= 0, f"quote {number}: part {part!r} not marked in order"
                cursor += len(part)
        # The card and the links between card and passage.
        cards = doc.xpath(f"//*[@id='quote-{key}']")
        assert len(cards) == 1, f"card quote-{key}"
        card = cards[0]
        assert not list(card.iterancestors()) or article not in card.iterancestors()
        assert article.xpath(f".//*[@data-quote='{number}']//a[@href='#quote-{key}']"), \
            f"passage of quote {number} does not link to #quote-{key}"
        back = card.xpath(".//a[starts-with(@href, '#passage-')]")
        assert back, f"card quote-{key} has no link back to the passage"
        target = back[0].get("href")[1:]
        passage = doc.xpath(f"//*[@id='{target}']")
        assert len(passage) == 1 and passage[0].get("data-quote") == str(number)
        assert article in passage[0].iterancestors()
    # No mark for a quote that does not exist.
    numbers = {el.get("data-quote") for el in article.xpath(".//*[@data-quote]")}
    assert numbers == {str(n) for n in range(1, len(quotes) + 1)}


def test_quote_with_id_uses_it_for_the_card(site):
    doc = briefing_page(site, "veloria-rules-out-harbour-deal")
    assert doc.xpath("//*[@id='quote-no-reopening']")
    assert not doc.xpath("//*[@id='quote-1']")
    assert doc.xpath("//*[@id='quote-2']")


@pytest.mark.parametrize("slug", SLUGS)
def test_actor_mentions(site, slug):
    doc = briefing_page(site, slug)
    article = article_element(doc)
    cast = {a["id"] for a in BRIEFINGS[slug]["actors"]}
    # Mentions are only inside the article, and only of this briefing's actors.
    everywhere = doc.xpath("//*[@data-actor]")
    inside = article.xpath(".//*[@data-actor]")
    assert len(everywhere) == len(inside) and inside
    assert {el.get("data-actor") for el in inside} <= cast
    first: dict[str, object] = {}
    for el in inside:
        first.setdefault(el.get("data-actor"), el)
    for actor_id, el in first.items():
        assert el.tag == "a", f"first mention of {actor_id} is not a link"
        target = posixpath.normpath(posixpath.join(f"briefings/{slug}", el.get("href")))
        assert target == f"actors/{actor_id}/index.html"
    assert not article.xpath(".//a[ancestor::a]")
    # Names in the article text are really marked (not just some of them).
    names = {actor_name(a) for a in BRIEFINGS[slug]["actors"]}
    marked = {" ".join(el.text_content().split()) for el in inside}
    assert names & marked


@pytest.mark.parametrize("slug", SLUGS)
def test_json_ld(site, slug):
    doc = briefing_page(site, slug)
    data_blocks = doc.xpath("//script[@type='application/ld+json']")
    assert len(data_blocks) == 1
    assert [s.get("src") for s in doc.xpath("//script[not(@type)]")] == ["../../assets/briefkit.js"]
    data = json.loads(data_blocks[0].text)
    annotations = BRIEFINGS[slug]
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == annotations["title"]
    assert data["datePublished"] == annotations["date"].isoformat()
    mentions = {m["name"]: m for m in data["mentions"]}
    assert set(mentions) == {actor_name(a) for a in annotations["actors"]}
    for entry in annotations["actors"]:
        registry = REGISTRY.get(entry["id"], {})
        same_as = mentions[actor_name(entry)].get("sameAs", [])
        if "wikidata" in registry:
            assert f"https://www.wikidata.org/wiki/{registry['wikidata']}" in same_as
        else:
            assert not any("wikidata.org" in url for url in same_as)
    parts = data["hasPart"]
    assert [p["@type"] for p in parts] == ["Quotation"] * len(annotations["quotes"])
    assert [fold(p["text"]) for p in parts] == [fold(q["text"]) for q in annotations["quotes"]]
    assert [c["url"] for c in data["citation"]] == [c["url"] for c in annotations["context"]]


@pytest.mark.parametrize("slug", SLUGS)
def test_canonical_and_open_graph_urls(site, slug):
    doc = briefing_page(site, slug)
    url = f"{BASE_URL}briefings/{slug}/"
    assert doc.xpath("//link[@rel='canonical']/@href") == [url]
    assert doc.xpath("//meta[@property='og:url']/@content") == [url]
    assert doc.xpath("//meta[@property='og:type']/@content") == ["article"]


def test_trump_briefing_keeps_asterisks_literally(site):
    doc = briefing_page(site, "trump-putin-bomb-moscow")
    article = article_element(doc)
    text = article.text_content()
    for word in ("sh*t", "s**t", "bulls**t"):
        assert word in text
    assert not article.xpath(".//em | .//strong | .//i | .//b")


# --- links -----------------------------------------------------------------------------------


def page_ids(doc) -> set[str]:
    return set(doc.xpath("//@id"))


def link_problems(site: Path, base_url: str | None) -> tuple[int, list[str]]:
    """A link checker over every page: relative links reach files, fragments reach ids.

    Returns how many internal links were checked and the problems found.
    """
    docs = {p.relative_to(site).as_posix(): parse_html(p) for p in html_files(site)}
    ids = {path: page_ids(doc) for path, doc in docs.items()}
    base_path = urlsplit(base_url).path if base_url else "/"
    problems, checked = [], 0
    for path, doc in docs.items():
        for element, attribute, link, _ in doc.iterlinks():
            if attribute not in ("href", "src"):
                continue
            parts = urlsplit(link)
            if parts.scheme in ("http", "https", "mailto"):
                continue
            if parts.scheme or parts.netloc:
                problems.append(f"{path}: {link} has a scheme or host")
                continue
            checked += 1
            if not parts.path:  # a link within the page
                if parts.fragment not in ids[path]:
                    problems.append(f"{path}: {link} -> no such id on the page")
                continue
            if path == "404.html":
                # The 404 page is served at any depth: its links start at the base_url path.
                if not parts.path.startswith(base_path):
                    problems.append(f"{path}: {link} does not start with {base_path}")
                    continue
                target = parts.path[len(base_path):]
            else:
                if parts.path.startswith("/"):
                    problems.append(f"{path}: {link} is not relative")
                    continue
                target = posixpath.normpath(posixpath.join(posixpath.dirname(path), unquote(parts.path)))
            if target.startswith("../"):
                problems.append(f"{path}: {link} leaves the site")
            elif not (site / target).is_file():
                problems.append(f"{path}: {link} -> {target} does not exist")
            elif parts.fragment and target.endswith(".html") and parts.fragment not in ids[target]:
                problems.append(f"{path}: {link} -> no id {parts.fragment!r} in {target}")
    return checked, problems


def test_internal_links_are_relative_and_resolve(site):
    checked, problems = link_problems(site, BASE_URL)
    assert checked > 100
    assert not problems, "\n".join(problems)


def test_link_checker_finds_broken_links(tmp_path):
    """The checker above must be able to fail."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "index.html").write_text(
        '<html><body><a href="../missing/index.html">x</a> <a href="#nowhere">y</a> <a href="/abs.html">z</a>'
        ' <a href="index.html#gone">w</a> <img src="../../outside.png"></body></html>')
    checked, problems = link_problems(tmp_path, None)
    assert checked == 5 and len(problems) == 5, problems


def test_media_are_copied_next_to_the_page_and_links_resolve(tmp_path):
    files = simple_briefing("with-photo")
    files["with-photo/article.md"] = "Ada Lovelace wrote.\n\n![The engine](engine.png)\n\n" \
        "\"The engine weaves algebraic patterns,\" Lovelace said. See [the other](../other/index.html).\n"
    del files["with-photo/article.txt"]
    files.update(simple_briefing("other", date="2024-01-01"))
    src = make_content(tmp_path, files)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    (src / "with-photo" / "engine.png").write_bytes(png)
    out = tmp_path / "out"
    build_ok(src, out)
    assert (out / "briefings" / "with-photo" / "engine.png").read_bytes() == png
    doc = briefing_page(out, "with-photo")
    assert article_element(doc).xpath(".//img[@src='engine.png'][@alt='The engine']")
    checked, problems = link_problems(out, None)
    assert checked > 20 and not problems, "\n".join(problems)


def test_every_page_has_unique_ids_and_no_script(site):
    """Fragment links need unique ids; scripts are JSON-LD data or the site's own external files."""
    for path in html_files(site):
        doc = parse_html(path)
        ids = doc.xpath("//@id")
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        assert not duplicates, f"{path.relative_to(site)}: {duplicates}"
        for script in doc.xpath("//script"):
            if script.get("type") == "application/ld+json":
                continue
            src = script.get("src", "")
            assert src.endswith(".js") and not src.startswith(("http:", "https:", "//")), (path, src)
            assert not (script.text or "").strip(), f"inline script in {path}"
            assert (path.parent / src).resolve().is_file(), (path, src)
        assert doc.xpath("/html/@lang") == [SITE_CONFIG["language"]]


def test_404_page_links_use_the_base_url_path(tmp_path):
    files = {"site.yaml": "title: T\nbase_url: https://example.org/news/\n"}
    files.update(simple_briefing("one"))
    src = make_content(tmp_path, files)
    out = tmp_path / "out"
    build_ok(src, out)
    doc = parse_html(out / "404.html")
    links = [link for _, attr, link, _ in doc.iterlinks() if attr == "href" and not link.startswith(("#", "http"))]
    assert links and all(link.startswith("/news/") for link in links), links
    for link in links:
        assert (out / link[len("/news/"):]).is_file(), link


# --- index, actor, tag and timeline pages -----------------------------------------------------------


def listed_briefings(doc) -> list[str]:
    """The slugs of the briefing links in the page's main content, in order, once each."""
    slugs = []
    for href in doc.xpath("//main//a/@href"):
        parts = href.split("/")
        if "briefings" in parts and href.endswith("index.html"):
            slug = parts[parts.index("briefings") + 1]
            if slug not in slugs:
                slugs.append(slug)
    return slugs


def test_index_lists_briefings_newest_first(site):
    doc = parse_html(site / "index.html")
    newest_first = sorted(SLUGS, key=lambda s: BRIEFINGS[s]["date"], reverse=True)
    assert listed_briefings(doc) == newest_first
    dates = doc.xpath("//main//time/@datetime")
    assert dates == sorted(dates, reverse=True) and len(dates) == len(SLUGS)


def test_shared_actor_page_lists_both_briefings_roles_and_quotes(site):
    actor_id = "amara-voss"
    appearances = {slug: next(a for a in b["actors"] if a["id"] == actor_id)
                   for slug, b in BRIEFINGS.items() if any(a["id"] == actor_id for a in b["actors"])}
    assert len(appearances) == 2
    doc = parse_html(site / "actors" / actor_id / "index.html")
    assert doc.xpath("string(//h1)") == REGISTRY[actor_id]["name"]
    assert set(listed_briefings(doc)) == set(appearances)
    text = " ".join(doc.xpath("//main")[0].text_content().split())
    for slug, entry in appearances.items():
        assert entry["role"] in text
        item = doc.xpath(f"//main//li[.//a[@href='../../briefings/{slug}/index.html']]")
        assert item and entry["role"] in item[0].text_content()
    # Every quote by the actor, from both briefings, linking to its card.
    expected = [(slug, quote_key(q, n), q["text"]) for slug, b in BRIEFINGS.items()
                for n, q in enumerate(b.get("quotes", []), 1) if q["speaker"] == actor_id]
    assert {slug for slug, _, _ in expected} == set(appearances)
    for slug, key, quote in expected:
        assert doc.xpath(f"//main//a[@href='../../briefings/{slug}/index.html#quote-{key}']"), (slug, key)
        assert fold(quote_parts(quote)[0]) in fold(text)


def test_tag_page_shared_by_several_briefings(site):
    for tag in ("fiction", "diplomacy"):
        tagged = {slug for slug, b in BRIEFINGS.items() if tag in b.get("tags", [])}
        assert len(tagged) >= 2
        doc = parse_html(site / "tags" / tag / "index.html")
        listed = listed_briefings(doc)
        assert set(listed) == tagged
        assert listed == sorted(listed, key=lambda s: BRIEFINGS[s]["date"], reverse=True)


def test_timeline_lists_every_event_by_date(site):
    doc = parse_html(site / "timeline" / "index.html")
    events = [(e["date"].isoformat(), e["text"]) for b in BRIEFINGS.values() for e in b.get("timeline", [])]
    dates = doc.xpath("//main//li/time/@datetime")
    assert len(dates) == len(events)
    assert dates == sorted(dates)
    assert sorted(dates) == sorted(d for d, _ in events)
    text = " ".join(doc.xpath("//main")[0].text_content().split())
    for _, event in events:
        assert " ".join(event.split()) in text


# --- feed, sitemap, robots -----------------------------------------------------------------------


def feed_entries(out: Path) -> list:
    root = lxml.etree.fromstring((out / "feed.xml").read_bytes())
    assert root.tag == f"{ATOM}feed"
    return root


def test_feed_is_atom_with_absolute_links(site):
    root = feed_entries(site)
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == len(SLUGS)
    newest_first = sorted(SLUGS, key=lambda s: BRIEFINGS[s]["date"], reverse=True)
    links = [e.find(f"{ATOM}link").get("href") for e in entries]
    assert links == [f"{BASE_URL}briefings/{slug}/" for slug in newest_first]
    for element in root.iter(f"{ATOM}link"):
        assert element.get("href").startswith(BASE_URL)
    for entry, slug in zip(entries, newest_first):
        assert entry.findtext(f"{ATOM}title") == BRIEFINGS[slug]["title"]
        assert entry.findtext(f"{ATOM}id")
        assert entry.findtext(f"{ATOM}updated").startswith(BRIEFINGS[slug]["date"].isoformat())
    assert root.findtext(f"{ATOM}updated").startswith(max(b["date"] for b in BRIEFINGS.values()).isoformat())


def test_feed_ids_are_stable_between_builds(site, tmp_path):
    other = tmp_path / "again"
    build_ok(EXAMPLE, other)
    ids = lambda out: [e.findtext(f"{ATOM}id") for e in feed_entries(out).findall(f"{ATOM}entry")]  # noqa: E731
    assert ids(site) == ids(other)
    assert len(set(ids(site))) == len(SLUGS)
    assert feed_entries(site).findtext(f"{ATOM}id") == feed_entries(other).findtext(f"{ATOM}id")


def test_sitemap_and_robots(site):
    root = lxml.etree.fromstring((site / "sitemap.xml").read_bytes())
    locs = [loc.text for loc in root.iter(f"{SITEMAP}loc")]
    assert all(loc.startswith(BASE_URL) for loc in locs)
    for slug in SLUGS:
        assert f"{BASE_URL}briefings/{slug}/" in locs
    assert BASE_URL in locs
    assert len(locs) == len(set(locs))
    for loc in locs:  # every URL in the sitemap is a page of the site
        rel = loc[len(BASE_URL):]
        assert (site / rel / "index.html").is_file() or (site / rel).is_file(), loc
    robots = (site / "robots.txt").read_text(encoding="utf-8")
    assert "User-agent: *" in robots
    assert f"Sitemap: {BASE_URL}sitemap.xml" in robots


# --- golden page ----------------------------------------------------------------------------------

GOLDEN = REPO / "tests" / "golden" / "briefing.html"

GOLDEN_SITE = {
    "site.yaml": """
        title: Golden Briefings
        description: A fixed site for the golden-page test.
        base_url: https://golden.example.org/briefs/
        language: en
        author: Golden Desk
        """,
    "actors.yaml": """
        ada-lovelace:
          name: Ada Lovelace
          kind: person
          description: Mathematician
          aliases: [Lovelace]
          wikidata: Q7259
        """,
    "analytical-engine/annotations.yaml": """
        title: Lovelace says the engine "weaves algebraic patterns"
        date: 2025-05-04
        summary: >-
          In a *note* on the Analytical Engine, Ada Lovelace describes what it
          could do. [More](https://example.org/more).
        source:
          publisher: Example Gazette
          url: https://example.org/gazette/engine
          author: A. Reporter
          published: 2025-05-03
        tags: [computing, history]
        actors:
          - id: ada-lovelace
            role: Author of the notes
          - id: charles-babbage
            name: Charles Babbage
            kind: person
            role: Designer of the engine
            aliases: [Babbage]
        quotes:
          - id: weaves
            text: "\u201cThe Analytical Engine weaves algebraic patterns just as the Jacquard loom weaves flowers\u201d"
            speaker: ada-lovelace
            note: From *Note A*.
          - text: "It can do whatever [...] to order it to perform"
            speaker: ada-lovelace
            to: charles-babbage
        context:
          - title: Analytical Engine
            url: https://en.wikipedia.org/wiki/Analytical_engine
            kind: background
            note: The machine.
        timeline:
          - date: 1837-01-01
            text: Babbage describes the engine.
          - date: 1843-09-01
            text: Lovelace publishes her notes.
        """,
    "analytical-engine/article.md": """
        # Notes

        Ada Lovelace wrote that "The Analytical Engine *weaves* algebraic
        patterns just as the [Jacquard loom](https://example.org/loom) weaves flowers."

        Babbage disagreed with Lovelace on little. "It can do whatever we know how
        to order it to perform," she wrote. Babbage agreed.

        | Year | Event |
        |------|-------|
        | 1843 | Notes |
        """,
}


def test_golden_briefing_page(tmp_path):
    """The whole page, byte for byte. Regenerate with BRIEFKIT_UPDATE_SNAPSHOTS=1 and review the diff."""
    src = make_content(tmp_path, GOLDEN_SITE)
    out = tmp_path / "out"
    stderr = build_ok(src, out)
    assert "warning" not in stderr, stderr
    page = (out / "briefings" / "analytical-engine" / "index.html").read_text(encoding="utf-8")
    if os.environ.get("BRIEFKIT_UPDATE_SNAPSHOTS") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(page, encoding="utf-8")
    assert GOLDEN.is_file(), "no golden file: run with BRIEFKIT_UPDATE_SNAPSHOTS=1 and review it"
    assert page == GOLDEN.read_text(encoding="utf-8"), \
        "briefing page differs from tests/golden/briefing.html (BRIEFKIT_UPDATE_SNAPSHOTS=1 to accept)"


def test_feed_entries_have_html_content_and_no_summary(site):
    root = feed_entries(site)
    assert not list(root.iter(f"{ATOM}summary")), "the feed carries the summary only as <content>"
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == len(SLUGS)
    for entry in entries:
        contents = entry.findall(f"{ATOM}content")
        assert len(contents) == 1, lxml.etree.tostring(entry)
        assert contents[0].get("type") == "html"
        assert (contents[0].text or "").strip(), "empty content"


# --- page weight and local assets ----------------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_briefing_page_with_its_css_and_js_is_at_most_60_kb(site, slug):
    """Issue 3: HTML + CSS + JS of a briefing page (not the search index) stays under 60 KB."""
    page = site / "briefings" / slug / "index.html"
    doc = parse_html(page)
    assets = doc.xpath("//link[@rel='stylesheet']/@href") + doc.xpath("//script/@src")
    total = page.stat().st_size + sum((page.parent / href).resolve().stat().st_size for href in assets)
    assert assets, "the page loads no stylesheet?"
    assert total <= 60 * 1024, f"{slug}: {total} bytes ({assets})"


def test_every_asset_is_local(site):
    """No fonts, scripts, styles or images from other hosts."""
    for path in html_files(site):
        doc = parse_html(path)
        loaded = (doc.xpath("//link[not(@rel='canonical') and not(@rel='alternate')]/@href")
                  + doc.xpath("//script/@src") + doc.xpath("//img/@src"))
        remote = [url for url in loaded if url.startswith(("http:", "https:", "//"))]
        assert not remote, f"{path.relative_to(site)} loads {remote}"
    for css in site.rglob("*.css"):
        text = css.read_text(encoding="utf-8")
        assert "@import" not in text and "url(http" not in text and "url(//" not in text, css
