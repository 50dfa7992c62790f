"""With JavaScript, hovering or focusing a highlighted quote or an actor mention shows its card
as a popover that keyboard and screen-reader users reach (aria-describedby) and can dismiss."""

from __future__ import annotations

import pytest

SLUG = "trump-putin-bomb-moscow"

POPOVER = """
() => {
  const p = document.getElementById('bk-popover');
  const r = p && !p.hidden ? p.getBoundingClientRect() : null;
  return {hidden: !p || p.hidden, text: p ? p.textContent : '', role: p && p.getAttribute('role'),
          width: r ? r.width : 0, right: r ? r.right : 0, viewport: document.documentElement.clientWidth};
}
"""


@pytest.fixture
def briefing(new_page, site):
    def open_page(width=1280):
        page = new_page(viewport={"width": width, "height": 800})
        page.goto(site.page_url(f"briefing:{SLUG}"), wait_until="load")
        return page
    return open_page


def test_hovering_a_quote_shows_its_speaker_and_note(briefing):
    page = briefing()
    assert page.evaluate(POPOVER)["hidden"]
    page.hover("mark[data-quote='1'] a")
    state = page.evaluate(POPOVER)
    assert not state["hidden"] and state["role"] == "tooltip"
    assert "Donald Trump" in state["text"] and "to Vladimir Putin" in state["text"]
    card_note = page.locator("#quote-bomb-moscow .quote-note").inner_text().strip()
    assert card_note[:40] in state["text"]
    page.mouse.move(5, 5)
    page.wait_for_function("() => document.getElementById('bk-popover').hidden")  # a function: CSP forbids eval


def test_keyboard_focus_on_a_mention_shows_the_actor_and_escape_dismisses(briefing):
    page = briefing()
    mention = page.locator("[data-article] a[data-actor='vladimir-putin']").first
    mention.focus()
    state = page.evaluate(POPOVER)
    assert not state["hidden"]
    assert "Vladimir Putin" in state["text"] and "person" in state["text"]
    assert mention.get_attribute("aria-describedby") == "bk-popover"
    page.keyboard.press("Escape")
    assert page.evaluate(POPOVER)["hidden"]
    assert mention.get_attribute("aria-describedby") is None


def test_the_popover_stays_inside_a_phone_screen(briefing):
    page = briefing(width=375)
    page.locator("mark[data-quote='6'] a").first.focus()
    state = page.evaluate(POPOVER)
    assert not state["hidden"]
    assert state["right"] <= state["viewport"], state
