"""Search in a real browser: Debian's Chromium (/usr/bin/chromium) driven by Playwright, against
the example site served over HTTP on 127.0.0.1 from a sub-path (/mount/site/), as a host would.

Locally the tests skip when /usr/bin/chromium (or $BRIEFKIT_CHROMIUM) is missing; with CI set
they fail instead.

The browser lives in a thread of its own: Playwright's sync API refuses to start in a thread
where another sync Playwright (another test module's session fixture) is running.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest

from briefkit.diagnostics import Report
from briefkit.loader import load_content
from briefkit.urls import briefing_page
from briefkit.validation import Options, build_model
from conftest import EXAMPLE, build_ok, make_content


def model_of(src: Path):
    report = Report()
    return build_model(load_content(src, "content", report), Options(None, False), report)

MOUNT = "mount/site/"  # the site is served from this sub-path
TIMEOUT_MS = 15_000




class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def serving(top: Path, handler: type, name: str) -> Iterator[str]:
    """`top` served over HTTP on 127.0.0.1 (a free port) by `handler`, in a thread named `name`:
    the URL of the site under it at MOUNT."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(top)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{MOUNT}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass(frozen=True)
class Served:
    root: Path  # the built site
    url: str    # where it is served: http://127.0.0.1:<port>/mount/site/


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The example site, built once, served on 127.0.0.1 (a free port) from a sub-path."""
    top = tmp_path_factory.mktemp("served")
    site = top / MOUNT
    build_ok(EXAMPLE, site)
    with serving(top, QuietHandler, "search-site") as url:
        yield Served(site, url)


def open_page(browser, **options):
    """A page in a new context that records every request, and refuses any to another host.

    The viewport is tall: results load their data only once scrolled into view."""
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 4000}, **options})
    context.set_default_timeout(TIMEOUT_MS)
    requests: list[str] = []
    errors: list[str] = []

    def route(route):
        url = route.request.url
        requests.append(url)
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname != "127.0.0.1":
            route.abort()
        else:
            route.continue_()

    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, requests, errors


def results(page) -> list[dict]:
    """The results shown: link, title, type and the line about each, and the quotes found in it."""
    return page.eval_on_selector_all(
        "pagefind-results .pf-result",
        """items => items.map(item => ({
            href: item.querySelector('a.pf-result-link')?.getAttribute('href') || '',
            title: item.querySelector('a.pf-result-link')?.textContent || '',
            type: item.querySelector('.search-result-type')?.textContent.trim() || '',
            about: item.querySelector('.search-result-about')?.textContent || '',
            quotes: [...item.querySelectorAll('a.search-quote-link')].map(a => ({
                href: a.getAttribute('href'), text: a.textContent,
                marked: [...a.querySelectorAll('mark')].map(m => m.textContent)})),
        }))""")


def wait_for_results(page, least: int = 1, most: int = 1_000_000) -> list[dict]:
    """Wait until the shown results (all loaded, none a placeholder) number between least and most.

    (No eval() in the page: the Content-Security-Policy forbids it.)"""
    page.wait_for_function(
        """([least, most]) => {
            const items = document.querySelectorAll('pagefind-results .pf-result');
            const loaded = document.querySelectorAll('pagefind-results .pf-result a.pf-result-link');
            const n = items.length;
            return n === loaded.length && n >= least && n <= most;
        }""", arg=[least, most])
    return results(page)


def only_local(requests: list[str]) -> list[str]:
    return [url for url in requests
            if urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname != "127.0.0.1"]


def test_typing_a_word_from_a_quote_finds_the_quote_and_opens_the_briefing_there(chromium, served):
    def run(browser):
        context, page, requests, errors = open_page(browser)
        page.goto(served.url + "search/index.html")
        field = page.locator("pagefind-input input")
        field.click()
        field.press_sequentially("choice", delay=40)  # "... I have no choice." (Donald Trump)
        found = wait_for_results(page)
        print(f"'choice': {len(found)} results: {[(r['href'].split('/', 3)[-1], r['quotes']) for r in found]}")
        # The quote is a sub-result of its briefing: who said it, the words, the one found marked.
        briefing = next(r for r in found if r["href"].endswith("/trump-putin-bomb-moscow/index.html"))
        assert briefing["type"] == "Briefing" and briefing["about"] == "9 July 2025"
        (quote,) = [q for q in briefing["quotes"] if q["href"].endswith("#quote-bomb-moscow")]
        assert quote["text"].startswith("Donald Trump to Vladimir Putin: \u201cIf you go into Ukraine")
        assert quote["text"].endswith("I have no choice.\u201d") and quote["marked"] == ["choice.\u201d"]
        # Links are absolute paths under the sub-path the site is served from.
        assert quote["href"] == f"/{MOUNT}briefings/trump-putin-bomb-moscow/index.html#quote-bomb-moscow"
        assert "q=choice" in page.url  # the query is kept in the address
        page.locator("pagefind-results a.search-quote-link[href$='#quote-bomb-moscow']").click()
        page.wait_for_url("**/briefings/trump-putin-bomb-moscow/index.html#quote-bomb-moscow")
        target = page.evaluate("document.querySelector(':target')?.id")
        assert target == "quote-bomb-moscow"
        assert not errors, errors
        assert not only_local(requests), only_local(requests)
        context.close()

    chromium(run)


def test_filtering_by_speaker_narrows_the_results_to_the_briefings_quoting_them(chromium, served):
    site = model_of(EXAMPLE)
    quoting = {f"/{MOUNT}{briefing_page(b.slug)}" for b in site.briefings
               if any(q.speaker.name == "Donald Trump" for q in b.quotes)}

    def run(browser):
        context, page, requests, errors = open_page(browser)
        page.goto(served.url + "search/index.html?q=Trump")
        before = wait_for_results(page, least=2)
        assert {r["type"] for r in before} == {"Briefing", "Actor"}, before
        page.locator("pagefind-filter-pane details[data-filter-name='speaker'] > summary").click()
        page.locator("pagefind-filter-pane details[data-filter-name='speaker'] label",
                     has=page.locator("input[value='Donald Trump']")).click()
        after = wait_for_results(page, most=len(before) - 1)
        assert after and {r["href"] for r in after} <= quoting, after
        assert {r["href"] for r in after} < {r["href"] for r in before}
        # Each shows the quotes the words were found in, each opening the briefing at its card.
        assert all(q["href"].startswith(r["href"] + "#quote-") for r in after for q in r["quotes"]), after
        print(f"'Trump': {len(before)} results; speaker Donald Trump: {len(after)}")
        assert not errors, errors
        context.close()

    chromium(run)


def test_the_header_box_leads_to_the_search_page_with_results(chromium, served):
    def run(browser):
        context, page, requests, errors = open_page(browser)
        page.goto(served.url + "briefings/veloria-karsk-harbour-talks/index.html")
        page.locator("header form[role='search'] input[name='q']").fill("harbour")
        page.locator("header form[role='search'] input[name='q']").press("Enter")
        page.wait_for_url("**/search/index.html?q=harbour")
        assert page.locator("pagefind-input input").input_value() == "harbour"
        found = wait_for_results(page)
        assert any("veloria" in r["href"] for r in found), found
        assert not errors, errors
        context.close()

    chromium(run)


def test_a_briefing_page_loads_no_search_assets(chromium, served):
    def run(browser):
        context, page, requests, errors = open_page(browser)
        page.goto(served.url + "briefings/trump-putin-bomb-moscow/index.html", wait_until="networkidle")
        assert not [url for url in requests if "/pagefind/" in url or url.endswith("/search.js")], requests
        context.close()

    chromium(run)


def test_without_javascript_the_search_page_says_so_and_links_to_the_indexes(chromium, served):
    def run(browser):
        context, page, requests, errors = open_page(browser, java_script_enabled=False)
        page.goto(served.url + "search/index.html?q=Moscow")
        notice = page.locator("main p.search-notice", has_text="needs JavaScript")
        assert notice.is_visible()
        notice.get_by_role("link", name="actors").click()
        page.wait_for_url("**/actors/index.html")
        context.close()

    chromium(run)


def test_opened_from_files_the_search_page_says_it_needs_a_server(chromium, served):
    def run(browser):
        context, page, requests, errors = open_page(browser)
        page.goto((served.root / "search" / "index.html").as_uri())
        page.locator("#search-needs-server").wait_for(state="visible")
        context.close()

    chromium(run)


def test_the_search_page_with_results_fits_a_phone(chromium, served):
    def run(browser):
        context, page, requests, errors = open_page(browser, viewport={"width": 375, "height": 2000})
        page.goto(served.url + "search/index.html?q=harbour")
        wait_for_results(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        context.close()

    chromium(run)


class SlowShardHandler(QuietHandler):
    """Answers a shard's entry file (pagefind/shards/N/pagefind-entry.json) after ENTRY_DELAY
    seconds, as over a slow network, and records when each such request started and ended."""

    ENTRY_DELAY = 0.4
    entries: list[tuple[float, float, str]] = []  # (start, end, path), in the order they ended
    missing: set[str] = set()  # paths answered 404 (a shard gone)

    def send_head(self):
        path = urlsplit(self.path).path
        if path in self.missing:
            self.send_error(404)
            return None
        if "/pagefind/shards/" in path and path.endswith("/pagefind-entry.json"):
            start = time.monotonic()
            time.sleep(self.ENTRY_DELAY)
            self.entries.append((start, time.monotonic(), path))
        return super().send_head()


@pytest.fixture(scope="module")
def served_in_shards(tmp_path_factory):
    """The example site indexed one briefing per shard, served from a sub-path like `served`."""
    import briefkit.search as search

    top = tmp_path_factory.mktemp("served-shards")
    site = top / MOUNT
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search, "SHARD_SIZE", 1)
        build_ok(EXAMPLE, site, "--no-cache")
        merged = search.merged_bundles(model_of(EXAMPLE))
    assert merged, "the example must be split in more than one shard"
    with serving(top, QuietHandler, "search-shards") as url:
        yield Served(site, url), merged


def test_a_site_in_shards_is_searched_as_one(chromium, served_in_shards):
    served, merged = served_in_shards
    everything = {f"/{MOUNT}{briefing_page(b.slug)}" for b in model_of(EXAMPLE).briefings}

    def run(browser):
        context, page, requests, errors = open_page(browser)
        loaded: list[str] = []  # (requests from Pagefind's worker too, which routes do not see)
        page.on("request", lambda request: loaded.append(request.url))
        page.goto(served.url + "search/index.html?q=said")  # a word of every briefing
        found = wait_for_results(page, least=len(everything))
        assert {r["href"] for r in found if r["type"] == "Briefing"} == everything, found
        for folder in merged:  # each shard's index was loaded, from the folder the page names
            assert any(url.startswith(f"{served.url}{folder}pagefind-entry.json") for url in loaded), loaded
        # Filters span the shards: the fiction tag leaves the two Veloria briefings.
        page.locator("pagefind-filter-pane details[data-filter-name='tag'] > summary").click()
        page.locator("pagefind-filter-pane details[data-filter-name='tag'] label",
                     has=page.locator("input[value='fiction']")).click()
        after = wait_for_results(page, most=2)
        assert sorted(r["href"].split("/")[-2] for r in after) == ["veloria-karsk-harbour-talks",
                                                                   "veloria-rules-out-harbour-deal"]
        # A quote in any shard is a sub-result that opens its briefing at the card.
        page.goto(served.url + "search/index.html?q=choice")
        (hit,) = [q for r in wait_for_results(page) for q in r["quotes"]]
        assert hit["href"] == f"/{MOUNT}briefings/trump-putin-bomb-moscow/index.html#quote-bomb-moscow"
        assert not errors, errors
        context.close()

    chromium(run)


@pytest.fixture(scope="module")
def served_in_many_shards(tmp_path_factory):
    """A site of twelve briefings indexed one per shard (several shards each, by hash), served by
    `SlowShardHandler`; and the folders the search page merges."""
    import briefkit.search as search

    top = tmp_path_factory.mktemp("served-many")
    files = {"site.yaml": "title: Many\n"}
    for n in range(12):
        files[f"b{n}/annotations.yaml"] = f"""
            title: Briefing {n}
            date: 2025-01-{n + 1:02d}
            summary: Number {n}.
            actors:
              - id: ada
                name: Ada Lovelace
                kind: person
            quotes:
              - text: "the engine weaves number {n}"
                speaker: ada
            """
        files[f"b{n}/article.txt"] = (f'Ada said: "the engine weaves number {n}." Then she left'
                                      f'{" for Paris" if n < 2 else ""}.\n')
    src = make_content(top, files)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search, "SHARD_SIZE", 1)
        build_ok(src, top / MOUNT, "--no-cache")
        merged = search.merged_bundles(model_of(src))
    assert len(merged) >= 4, merged
    with serving(top, SlowShardHandler, "search-many") as url:
        yield url, merged


def test_a_site_in_shards_loads_its_shards_at_once_not_one_after_another(chromium, served_in_many_shards):
    # Pagefind's component UI merges one shard at a time, each after its entry file arrives: over a
    # slow network every shard added round trips to the reader's first search. search-pagefind.js
    # starts every merge at once.
    url, merged = served_in_many_shards

    def run(browser):
        context, page, requests, errors = open_page(browser)
        SlowShardHandler.entries.clear()
        page.goto(url + "search/index.html?q=weaves")
        assert len(wait_for_results(page, least=12)) == 12
        entries = list(SlowShardHandler.entries)
        assert sorted(path for _, _, path in entries) == sorted(
            f"/{MOUNT}{folder}pagefind-entry.json" for folder in merged)
        # Four or more shards' entry files were asked for before the first of them was answered
        # (not all: over HTTP/1.1 the browser opens at most six connections to a host).
        first_answered = min(end for _, end, _ in entries)
        assert sum(start < first_answered for start, _, _ in entries) >= 4, entries
        assert not errors, errors
        context.close()

    chromium(run)


def test_past_the_listed_results_the_page_says_how_many_there_are_and_how_to_narrow_them(
        chromium, served_in_many_shards):
    # The search page lists the best 100 results (drawing 10,000 kept a browser busy for seconds);
    # here the page is served with a limit of 5, for a word of all twelve briefings.
    url, _ = served_in_many_shards

    def run(browser):
        context, page, requests, errors = open_page(browser)

        def limit_to_five(route):
            html = route.fetch().text()
            assert 'max-results="100"' in html
            route.fulfill(body=html.replace('max-results="100"', 'max-results="5"'),
                          content_type="text/html; charset=utf-8")

        page.route("**/search/index.html*", limit_to_five)
        page.goto(url + "search/index.html?q=weaves")
        assert len(wait_for_results(page, least=5, most=5)) == 5
        more = page.locator("#search-more")
        more.wait_for(state="visible")
        assert more.text_content() == ("These are the best 5 of 12 results. "
                                       "Add a word, or choose a filter, to narrow them.")
        assert more.get_attribute("role") == "status"  # announced: the component says "5 results"
        page.goto(url + "search/index.html?q=paris")  # two results: all listed, nothing to say
        assert len(wait_for_results(page, least=2, most=2)) == 2
        assert more.is_hidden() and more.text_content() == ""
        assert not errors, errors
        context.close()

    chromium(run)


def test_a_shard_that_cannot_be_loaded_gets_a_notice_not_searching_for_ever(chromium, served_in_many_shards):
    # A search page older than the site can name a shard the site no longer has: Pagefind then
    # cannot search at all, and its summary said "Searching for ..." for ever.
    url, merged = served_in_many_shards
    gone = f"/{MOUNT}{merged[1]}pagefind-entry.json"

    def run(browser):
        context, page, requests, errors = open_page(browser)
        notice = page.locator("#search-unavailable")
        page.goto(url + "search/index.html?q=weaves")
        wait_for_results(page, least=12)
        assert notice.is_hidden()
        SlowShardHandler.missing.add(gone)
        try:
            page.goto(url + "search/index.html?q=weaves")
            notice.wait_for(state="visible")
            page.locator("pagefind-input input").fill("engine")  # another search: no error either
            page.wait_for_timeout(1000)
        finally:
            SlowShardHandler.missing.discard(gone)
        # In the alert region (announced), instead of the summary ("Searching for weaves..." for
        # ever) and the results.
        assert page.locator("[role=alert] #search-unavailable").count() == 1
        assert notice.text_content().startswith("Search could not load all of its index. Reload the page;")
        assert page.locator("pagefind-summary").is_hidden() and page.locator("pagefind-results").is_hidden()
        assert not errors, errors
        assert notice.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))") == [
            "../tags/index.html", "../actors/index.html"]
        context.close()

    chromium(run)


@pytest.fixture(scope="module")
def served_long_quote(tmp_path_factory):
    """A site whose one quote is longer than an excerpt (30 words), with a rare word at its end."""
    top = tmp_path_factory.mktemp("served-long")
    words = " ".join(f"word{n}" for n in range(60)) + " zebracorn"
    src = make_content(top, {
        "site.yaml": "title: Long\n",
        "long/annotations.yaml": f"""
            title: A long quote
            date: 2025-01-01
            summary: Something long.
            actors:
              - id: ada
                name: Ada Lovelace
                kind: person
            quotes:
              - text: "{words}"
                speaker: ada
            """,
        "long/article.txt": f'Ada said: "{words}." And that was it.\n',
    })
    build_ok(src, top / MOUNT)
    with serving(top, QuietHandler, "search-long") as url:
        yield url


def test_a_hit_late_in_a_long_quote_still_says_who_said_it(chromium, served_long_quote):
    def run(browser):
        context, page, requests, errors = open_page(browser)
        page.goto(served_long_quote + "search/index.html?q=zebracorn")
        (result,) = wait_for_results(page)
        (quote,) = result["quotes"]
        # The excerpt is the end of the quote, so the speaker is put before it.
        assert quote["text"].startswith("Ada Lovelace: \u2026word")
        assert quote["text"].endswith("word59 zebracorn\u201d") and quote["marked"] == ["zebracorn\u201d"]
        assert quote["href"] == f"/{MOUNT}briefings/long/index.html#quote-1"
        assert not errors, errors
        context.close()

    chromium(run)
