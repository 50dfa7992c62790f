"""Paged listings: the index, tag and actor pages show `page_size` briefings a page (site.yaml,
default 50), later pages live at page/N/, and each page links to its neighbours with rel prev/next."""

from __future__ import annotations

import pytest

from briefkit.pagination import page_path, paginate, paginate_from_end
from conftest import build_ok, make_content, parse_html, simple_briefing


def archive(tmp_path, count: int, page_size: int | None = None):
    files = {"site.yaml": "title: Archive\n" + (f"page_size: {page_size}\n" if page_size else "")}
    for n in range(count):
        files.update(simple_briefing(f"b{n:02d}", title=f"Briefing {n:02d}", date=f"2025-01-{n + 1:02d}"))
    return make_content(tmp_path, files)


def titles(doc) -> list[str]:
    return [a.text_content() for a in doc.xpath("//main//ol[contains(@class,'briefing-list')]/li//h2/a | "
                                                "//main//ol[contains(@class,'briefing-list')]/li//h3/a")]


def test_page_paths_and_pagers():
    assert page_path("index.html", 1) == "index.html"
    assert page_path("index.html", 3) == "page/3/index.html"
    assert page_path("tags/x/index.html", 2) == "tags/x/page/2/index.html"
    pages = paginate("tags/x/index.html", list(range(5)), 2)
    assert [(path, items) for path, items, _ in pages] == [
        ("tags/x/index.html", (0, 1)), ("tags/x/page/2/index.html", (2, 3)), ("tags/x/page/3/index.html", (4,))]
    middle = pages[1][2]
    assert (middle.number, middle.pages, middle.total, middle.offset) == (2, 3, 5, 2)
    assert (middle.prev, middle.next) == ("tags/x/index.html", "tags/x/page/3/index.html")
    assert [p for p, _, _ in paginate("index.html", [], 50)] == ["index.html"]  # an empty listing: one page


def test_index_tag_and_actor_listings_are_paged(tmp_path):
    src = archive(tmp_path, 7, page_size=3)
    out = tmp_path / "out"
    build_ok(src, out)
    newest_first = [f"Briefing {n:02d}" for n in range(6, -1, -1)]
    for first in ("index.html", "tags/science/index.html", "actors/ada-lovelace/index.html"):
        paths = [first, page_path(first, 2), page_path(first, 3)]
        docs = [parse_html(out / path) for path in paths]
        assert sum((titles(doc) for doc in docs), []) == newest_first, first
        assert not (out / page_path(first, 4)).exists()
        for number, doc in enumerate(docs, 1):
            prev = doc.xpath("//head/link[@rel='prev']/@href")
            nxt = doc.xpath("//head/link[@rel='next']/@href")
            assert len(prev) == (number > 1) and len(nxt) == (number < 3)
            nav = doc.xpath("//nav[@class='pager']")[0]
            assert f"Page {number} of 3" in nav.text_content()
            assert nav.xpath("a[@rel='prev']/@href") == prev and nav.xpath("a[@rel='next']/@href") == nxt
        second = docs[1]
        root = "../../" + "../" * first.count("/")
        assert second.xpath("//head/link[@rel='prev']/@href") == [root + first]
        assert second.xpath("//head/link[@rel='next']/@href") == [root + page_path(first, 3)]
    index2 = parse_html(out / "page/2/index.html")
    assert index2.xpath("//main//ol[contains(@class,'briefing-list')]/@start") == ["4"]  # reversed: 7 6 5 | 4 3 2
    assert "(page 2 of 3)" in index2.xpath("//title")[0].text_content()
    actor2 = parse_html(out / "actors/ada-lovelace/page/2/index.html")
    assert actor2.xpath("//h2[@id='briefings-heading']")[0].text_content() == "Briefings (7)"
    quotes = actor2.xpath("//ol[@class='quote-cards']/li//a[contains(@href,'#quote-')]/text()")
    assert quotes == ["Briefing 03", "Briefing 02", "Briefing 01"]  # the quotes of this page's briefings
    sitemap = (out / "sitemap.xml").read_text(encoding="utf-8") if (out / "sitemap.xml").exists() else ""
    assert sitemap == ""  # no base_url, no sitemap: the pages are linked from page 1 instead


def test_the_timeline_opens_at_its_latest_events_and_pages_back_in_time(tmp_path):
    assert [items for _, items, _ in paginate_from_end("timeline/index.html", list(range(5)), 2)] == [
        (3, 4), (1, 2), (0,)]
    src = archive(tmp_path, 7, page_size=3)  # one timeline event per briefing, on its date
    out = tmp_path / "out"
    build_ok(src, out)
    paths = ["timeline/index.html", "timeline/page/2/index.html", "timeline/page/3/index.html"]
    docs = [parse_html(out / path) for path in paths]
    events = [doc.xpath("//ol[@class='timeline']/li/span/text()") for doc in docs]
    assert events == [["Briefing 04", "Briefing 05", "Briefing 06"], ["Briefing 01", "Briefing 02", "Briefing 03"],
                      ["Briefing 00"]]
    assert not (out / "timeline/page/4").exists()
    assert docs[0].xpath("//head/link[@rel='next']/@href") == ["../timeline/page/2/index.html"]
    assert docs[1].xpath("//head/link[@rel='prev']/@href") == ["../../../timeline/index.html"]
    note = " ".join(docs[0].xpath("//p[@class='pager-note']")[0].text_content().split())
    assert note == "Events 5–7 of 7, in date order; earlier events are on the next page."
    assert " ".join(docs[2].xpath("//p[@class='pager-note']")[0].text_content().split()) == \
        "Events 1–1 of 7, in date order."
    assert "(page 2 of 3)" in docs[1].xpath("//title")[0].text_content()
    nav = docs[1].xpath("//nav[@class='pager']")[0]
    assert [a.text_content() for a in nav.xpath("a")] == ["Later events", "Earlier events"]
    build_ok(archive(tmp_path / "small", 3), tmp_path / "small-out")
    one_page = parse_html(tmp_path / "small-out" / "timeline/index.html")
    assert not one_page.xpath("//nav[@class='pager'] | //p[@class='pager-note'] | //link[@rel='next']")


def test_one_page_listings_have_no_pager(tmp_path):
    src = archive(tmp_path, 3)
    out = tmp_path / "out"
    build_ok(src, out)
    doc = parse_html(out / "index.html")
    assert not doc.xpath("//nav[@class='pager'] | //link[@rel='prev' or @rel='next']")
    assert not (out / "page").exists()


@pytest.mark.parametrize("value", ["0", "ten", "2.5"])
def test_page_size_must_be_a_whole_number_of_one_or_more(tmp_path, value):
    from conftest import build_site
    src = archive(tmp_path, 1)
    (src / "site.yaml").write_text(f"title: Archive\npage_size: {value}\n", encoding="utf-8")
    code, _, err = build_site(src, tmp_path / "out")
    assert code == 1
    assert err.startswith(f"{src}/site.yaml:2:12: error: expected a whole number of 1 or more, but YAML read ")
