"""The Content-Security-Policy every page carries blocks nothing the site itself does: every page
type, the search page with a real search, and a briefing opened from files, all load with 0 CSP
violations and 0 console errors. The hostile fixture of tests/test_safety.py, served and searched
in the browser, shows no dialog and trips no CSP violation either (nothing even tried to run)."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest

from conftest import build_ok, make_content
from test_safety import hostile_files

from .conftest import ALL_PAGES, _Handler, free_port

# Collected in the page's main world before any of its own script runs (Playwright's init scripts
# are not subject to the page's CSP).
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
  `${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber} ${e.sample}`));
"""


def watched(new_page, **options):
    """A page that records CSP violations, console errors, uncaught errors and dialogs."""
    page = new_page(**options)
    page.add_init_script(WATCH)
    seen: dict[str, list[str]] = {"console": [], "errors": [], "dialogs": []}
    page.on("console", lambda msg: seen["console"].append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))

    def dialog(d):
        seen["dialogs"].append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    return page, seen


def violations(page, seen, missing_ok: bool = False) -> list[str]:
    """Everything that went wrong on the page so far (`missing_ok`: but files not found)."""
    console = [m for m in seen["console"] if not (missing_ok and m.startswith("Failed to load resource"))]
    return ([f"CSP: {v}" for v in page.evaluate("window.__csp || []")]
            + [f"console: {m}" for m in console] + [f"error: {m}" for m in seen["errors"]]
            + [f"dialog: {m}" for m in seen["dialogs"]])


def wait_for_results(page) -> list[str]:
    """The hrefs of the search results (and of their quotes) once they are all loaded."""
    page.wait_for_function("""() => {
        const items = document.querySelectorAll('pagefind-results .pf-result');
        return items.length > 0 && items.length === document.querySelectorAll(
            'pagefind-results .pf-result a.pf-result-link').length;
    }""", timeout=15_000)
    return page.eval_on_selector_all("pagefind-results a.pf-result-link, pagefind-results a.search-quote-link",
                                     "links => links.map(a => a.href)")  # results, and the quotes found in them


@pytest.mark.parametrize("kind", ALL_PAGES)
def test_every_page_type_loads_without_a_csp_violation(new_page, site, kind):
    page, seen = watched(new_page, viewport={"width": 1280, "height": 2000})
    if kind == "search":
        page.goto(site.page_url("search") + "?q=choice", wait_until="load")
        hrefs = wait_for_results(page)
        assert any(href.endswith("#quote-bomb-moscow") for href in hrefs), hrefs  # a quote is found
        page.locator("pagefind-filter-pane details > summary").first.click()  # the filter pane works
    else:
        page.goto(site.page_url(kind), wait_until="networkidle")
        if kind.startswith("briefing"):
            # The popover script runs (it styles the popover through the CSSOM, which CSP allows).
            mark = page.locator("[data-article] mark[data-quote] a").first
            mark.hover()
            page.wait_for_function("() => !document.getElementById('bk-popover').hidden")
    problems = violations(page, seen)
    print(f"{kind}: {len(problems)} CSP violations / console errors")
    assert problems == [], "\n".join(problems)


def test_a_briefing_opened_from_files_runs_its_script_under_the_policy(new_page, site):
    """'self' covers file:// too: the popovers still work on a site opened from the disk."""
    page, seen = watched(new_page)
    page.goto((site.root / site.path("briefing")).as_uri(), wait_until="load")
    page.locator("[data-article] mark[data-quote] a").first.hover()
    page.wait_for_function("() => !document.getElementById('bk-popover').hidden")
    assert violations(page, seen) == []


def test_a_table_keeps_its_column_alignment(new_page, site, tmp_path):
    """Alignment comes from classes now that style attributes are forbidden."""
    src = make_content(tmp_path, {
        "t/annotations.yaml": "title: T\ndate: 2025-01-01\nsummary: S\n",
        "t/article.md": "| left | centre | right |\n|:--|:-:|--:|\n| a | b | c |\n",
    })
    build_ok(src, tmp_path / "out")
    page, seen = watched(new_page)
    page.goto((tmp_path / "out" / "briefings" / "t" / "index.html").as_uri(), wait_until="load")
    aligns = page.eval_on_selector_all("[data-article] td", "cells => cells.map(c => getComputedStyle(c).textAlign)")
    assert aligns == ["left", "center", "right"]
    assert violations(page, seen) == []


@pytest.fixture(scope="module")
def hostile_served(tmp_path_factory):
    """The hostile fixture site, built and served on 127.0.0.1."""
    tmp = tmp_path_factory.mktemp("hostile-browser")
    out = tmp / "site"
    build_ok(make_content(tmp, hostile_files()), out)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()),
                                             functools.partial(_Handler, directory=str(out)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="hostile-site", daemon=True)
    thread.start()
    try:
        yield out, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_hostile_site_runs_nothing_in_the_browser(new_page, hostile_served):
    out, url = hostile_served
    pages = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html"))
    assert len(pages) >= 10
    problems = []
    for rel in pages:
        page, seen = watched(new_page)
        page.goto(url + rel, wait_until="load")
        # (404.html links its assets from the base_url path, /sub/, which this server has not.)
        problems.extend(f"{rel}: {p}" for p in violations(page, seen, missing_ok=rel == "404.html"))
        page.context.close()
    # The search results show the hostile text as text (Pagefind escapes the excerpt).
    page, seen = watched(new_page, viewport={"width": 1280, "height": 4000})
    page.goto(url + "search/index.html?q=alert", wait_until="load")
    assert wait_for_results(page)
    assert page.locator("pagefind-results img, pagefind-results iframe, pagefind-results svg").count() == 0
    assert page.locator("pagefind-results script:not([type='text/pagefind-template'])").count() == 0
    assert "<script>" in page.locator("pagefind-results").inner_text()
    problems.extend(f"search: {p}" for p in violations(page, seen))
    print(f"hostile site: {len(pages)} pages and a search, {len(problems)} CSP violations / errors / dialogs")
    assert problems == []
