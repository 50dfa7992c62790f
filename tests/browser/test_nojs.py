"""With JavaScript disabled, every annotation of a briefing is readable and the quote links work:
each highlighted passage links to its card, which becomes the :target, and the card links back
to the passage."""

from __future__ import annotations

import pytest

from .conftest import BRIEFINGS

HASH_AND_TARGET_JS = """
() => {
  const t = document.querySelector(':target');
  const r = t ? t.getBoundingClientRect() : null;
  return {
    hash: decodeURIComponent(location.hash),
    target: t ? t.id : null,
    inView: !!r && r.bottom > 0 && r.top < window.innerHeight,
  };
}
"""


@pytest.fixture
def nojs_page(new_page, site):
    def open_briefing(slug):
        page = new_page(java_script_enabled=False, viewport={"width": 1280, "height": 800})
        page.goto(site.page_url(f"briefing:{slug}"), wait_until="load")
        return page
    return open_briefing


@pytest.mark.parametrize("slug", BRIEFINGS)
def test_annotations_are_visible_without_javascript(nojs_page, slug):
    page = nojs_page(slug)
    problems = []
    for selector, what in [("li.quote-card", "quote card"), (".actor-chip", "actor chip")]:
        items = page.locator(selector)
        count = items.count()
        if count == 0:
            problems.append(f"no {what} ({selector}) on the page")
        for i in range(count):
            item = items.nth(i)
            if not item.is_visible():
                problems.append(f"{what} {i + 1} ({item.get_attribute('id') or selector}) is not visible")
            elif not item.inner_text().strip():
                problems.append(f"{what} {i + 1} ({item.get_attribute('id') or selector}) shows no text")
    if problems:
        pytest.fail(f"briefing {slug} without JavaScript:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.mark.parametrize("slug", BRIEFINGS)
def test_quote_links_work_without_javascript(nojs_page, slug):
    page = nojs_page(slug)
    links = page.locator('[data-article] mark[data-quote] a[href^="#quote-"]')
    count = links.count()
    assert count > 0, f"briefing {slug}: no mark[data-quote] a[href^='#quote-'] in the article"
    problems = []
    checked_cards = set()
    for i in range(count):
        link = links.nth(i)
        href = link.get_attribute("href")
        card_id = href[1:]
        link.click()
        page.wait_for_function("h => decodeURIComponent(location.hash) === h", arg=href)
        state = page.evaluate(HASH_AND_TARGET_JS)
        card = page.locator(f'[id="{card_id}"]')
        if state["target"] != card_id or not card.evaluate("e => e.matches(':target')"):
            problems.append(f"link {i + 1} ({href}): the :target is {state['target']!r}, not the card")
            continue
        if not state["inView"]:
            problems.append(f"link {i + 1} ({href}): the card is not scrolled into view")
        if not card.evaluate("e => e.matches('li.quote-card')"):
            problems.append(f"link {i + 1} ({href}): #{card_id} is not an li.quote-card")
        if card_id in checked_cards:
            continue
        checked_cards.add(card_id)
        # The card's way back to the passage.
        back = card.locator('a[href^="#passage-"]')
        if back.count() != 1:
            problems.append(f"card #{card_id}: expected one back link a[href^='#passage-'], found {back.count()}")
            continue
        back_href = back.get_attribute("href")
        back.click()
        page.wait_for_function("h => decodeURIComponent(location.hash) === h", arg=back_href)
        state = page.evaluate(HASH_AND_TARGET_JS)
        passage = page.locator(f'[id="{back_href[1:]}"]')
        if state["target"] != back_href[1:] or passage.count() != 1:
            problems.append(f"card #{card_id}: the back link {back_href} made {state['target']!r} the :target")
        elif not passage.evaluate("e => e.matches('[data-article] mark[data-quote]')"):
            problems.append(f"card #{card_id}: {back_href} is not a mark[data-quote] in the article")
        elif not state["inView"]:
            problems.append(f"card #{card_id}: the passage {back_href} is not scrolled into view")
    if problems:
        pytest.fail(f"briefing {slug} without JavaScript ({count} quote links):\n  " + "\n  ".join(problems),
                    pytrace=False)
