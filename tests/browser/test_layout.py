"""Layout in Chromium: no horizontal overflow from 320 px to 1280 px on every page type; dark
mode (prefers-color-scheme) renders dark with readable text; print renders (page.pdf) without
the navigation and with the quote highlights visible on paper."""

from __future__ import annotations

import pytest

from .conftest import ALL_PAGES, BRIEFINGS

# Phones (mobile emulation: the viewport meta counts) and a laptop.
WIDTHS = [320, 375, 1280]

# Elements whose box passes the right edge of the viewport, outermost first, ignoring those
# inside a container the reader can scroll sideways (a wide table in an overflow-x: auto box).
OVERFLOW_JS = """
(width) => {
  const root = document.documentElement;
  const vw = Math.min(width, root.clientWidth);
  const scrollable = (el) => {
    for (let a = el.parentElement; a && a !== document.body && a !== root; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o === 'auto' || o === 'scroll') return true;
    }
    return false;
  };
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (typeof el.className === 'string' && el.className.trim()) s += '.' + el.className.trim().split(/\\s+/).join('.');
    return s;
  };
  const path = (el) => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) parts.unshift(name(e));
    return parts.join(' > ');
  };
  const over = new Set();
  const offenders = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (getComputedStyle(el).visibility === 'hidden') continue;
    if (r.right <= vw + 1 && r.width <= vw + 1) continue;
    if (scrollable(el)) continue;
    over.add(el);
    if (over.has(el.parentElement)) continue;  // list the outermost only
    offenders.push(`${path(el)}: left ${Math.round(r.left)}, width ${Math.round(r.width)}, right ${Math.round(r.right)}`);
  }
  return {innerWidth: window.innerWidth, clientWidth: root.clientWidth, scrollWidth: root.scrollWidth, offenders};
}
"""


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("kind", ALL_PAGES)
def test_no_horizontal_overflow(site, new_page, kind, width):
    mobile = width < 800
    page = new_page(viewport={"width": width, "height": 800}, is_mobile=mobile, has_touch=mobile)
    page.goto(site.page_url(kind), wait_until="load")
    found = page.evaluate(OVERFLOW_JS, width)
    problems = []
    if found["innerWidth"] != width:
        problems.append(f"window.innerWidth is {found['innerWidth']}, not {width}: the page is zoomed out to fit "
                        "(content wider than the screen, or no width=device-width viewport meta)")
    if found["scrollWidth"] > found["innerWidth"]:
        problems.append(f"the page scrolls sideways: scrollWidth {found['scrollWidth']} > innerWidth {found['innerWidth']}")
    if found["offenders"]:
        problems.append("elements wider than the viewport or past its right edge:\n    "
                        + "\n    ".join(found["offenders"][:20])
                        + (f"\n    ... and {len(found['offenders']) - 20} more" if len(found["offenders"]) > 20 else ""))
    if problems:
        pytest.fail(f"{site.path(kind)} at {width} px:\n  " + "\n  ".join(problems), pytrace=False)


# Any CSS colour (rgb(), oklch(), color(), ...) as [r, g, b, a] with 0-255 channels, read back
# from a 1x1 canvas.
RGBA_JS = """
  const probe = document.createElement('canvas').getContext('2d', {willReadFrequently: true});
  const rgba = (css) => {
    probe.clearRect(0, 0, 1, 1);
    probe.fillStyle = 'rgba(0, 0, 0, 0)'; probe.fillStyle = css; probe.fillRect(0, 0, 1, 1);
    const d = probe.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  };
  const alpha = (css) => rgba(css)[3];
"""

# The colour a reader sees behind the text: the first opaque background from body up, else the
# canvas (dark when the root's used color-scheme is dark). Colours come back as [r, g, b, a].
COLOURS_JS = """
() => {""" + RGBA_JS + """
  let background = null;
  for (const el of [document.body, document.documentElement]) {
    const bg = getComputedStyle(el).backgroundColor;
    if (alpha(bg) > 0) { background = rgba(bg); break; }
  }
  const scheme = getComputedStyle(document.documentElement).colorScheme;
  const dark = window.matchMedia('(prefers-color-scheme: dark)').matches;
  if (!background) background = (dark && /dark/.test(scheme)) ? [18, 18, 18, 1] : [255, 255, 255, 1];
  return {background, text: rgba(getComputedStyle(document.body).color), scheme, dark};
}
"""


def luminance(rgb) -> float:
    """WCAG relative luminance of an sRGB colour (0-255 channels)."""
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize("kind", ALL_PAGES)
def test_dark_mode_renders_dark(site, new_page, kind):
    page = new_page(color_scheme="dark", viewport={"width": 1280, "height": 800})
    page.goto(site.page_url(kind), wait_until="load")
    colours = page.evaluate(COLOURS_JS)
    assert colours["dark"], "the browser context did not report prefers-color-scheme: dark"
    bg, text = colours["background"], colours["text"]
    problems = []
    if luminance(bg) > 0.2:
        problems.append(f"the background rgb{tuple(bg[:3])} is not dark (relative luminance {luminance(bg):.2f} > 0.2)")
    if contrast(bg, text) < 4.5:
        problems.append(f"body text rgb{tuple(text[:3])} on rgb{tuple(bg[:3])} has contrast {contrast(bg, text):.2f} < 4.5")
    if problems:
        pytest.fail(f"{site.path(kind)} in dark mode (color-scheme {colours['scheme']!r}):\n  "
                    + "\n  ".join(problems), pytrace=False)


@pytest.mark.parametrize("kind", ALL_PAGES)
def test_print_renders_a_pdf_without_navigation(site, new_page, kind):
    page = new_page()
    page.goto(site.page_url(kind), wait_until="load")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF-") and len(pdf) > 1000, f"{site.path(kind)}: page.pdf() gave {len(pdf)} bytes"
    page.emulate_media(media="print")
    navs = page.locator("nav, [role=navigation]")
    shown = [navs.nth(i).evaluate("e => e.outerHTML.slice(0, 120)")
             for i in range(navs.count()) if navs.nth(i).is_visible()]
    if shown:
        pytest.fail(f"{site.path(kind)} in print: {len(shown)} navigation element(s) still shown:\n  "
                    + "\n  ".join(shown), pytrace=False)


# How each quote highlight shows on paper: a border or underline, or a background that is
# printed (print-color-adjust: exact; browsers leave backgrounds out by default) and that differs
# from the paper in greyscale. The highlight may be styled on the mark or on its link.
HIGHLIGHT_JS = """
(mark) => {""" + RGBA_JS + """
  const rgb = (css) => rgba(css).slice(0, 3);
  const paper = (() => {
    for (let e = mark.parentElement; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor;
      if (alpha(bg) > 0) return rgb(bg);
    }
    return [255, 255, 255];
  })();
  const ways = [];
  for (const el of [mark, ...mark.querySelectorAll(':scope > a')]) {
    const s = getComputedStyle(el);
    for (const side of ['Top', 'Right', 'Bottom', 'Left']) {
      if (parseFloat(s['border' + side + 'Width']) >= 0.5 && !['none', 'hidden'].includes(s['border' + side + 'Style'])
          && alpha(s['border' + side + 'Color']) > 0) ways.push(`border-${side.toLowerCase()}`);
    }
    if (s.textDecorationLine.includes('underline') && alpha(s.textDecorationColor) > 0) ways.push('underline');
    if (s.boxShadow && s.boxShadow !== 'none') ways.push('box-shadow');
    if (alpha(s.backgroundColor) > 0) {
      const adjust = s.printColorAdjust || s.webkitPrintColorAdjust;
      ways.push({background: rgb(s.backgroundColor), adjust});
    }
  }
  return {paper, ways, html: mark.outerHTML.slice(0, 100)};
}
"""


@pytest.mark.parametrize("slug", BRIEFINGS)
def test_print_shows_quote_highlights(site, new_page, slug):
    page = new_page()
    page.goto(site.page_url(f"briefing:{slug}"), wait_until="load")
    page.emulate_media(media="print")
    marks = page.locator("[data-article] mark.quote")
    assert marks.count() > 0, f"{site.path('briefing:' + slug)} has no mark.quote in its article"
    invisible = []
    for i in range(marks.count()):
        found = marks.nth(i).evaluate(HIGHLIGHT_JS)
        ok = False
        reasons = []
        for way in found["ways"]:
            if isinstance(way, str):
                ok = True
            elif way["adjust"] != "exact":
                reasons.append(f"background rgb{tuple(way['background'])} is not printed "
                               f"(print-color-adjust {way['adjust']!r}, not 'exact')")
            elif contrast(way["background"], found["paper"]) < 1.15:
                reasons.append(f"background rgb{tuple(way['background'])} is too close to the paper "
                               f"rgb{tuple(found['paper'])} in greyscale (contrast {contrast(way['background'], found['paper']):.2f})")
            else:
                ok = True
        if not ok:
            invisible.append(f"{found['html']}: " + ("; ".join(reasons) or "no border, underline or background"))
    if invisible:
        pytest.fail(f"{site.path('briefing:' + slug)} in print: {len(invisible)} of {marks.count()} quote "
                    "highlights would not show on paper:\n  " + "\n  ".join(invisible[:10]), pytrace=False)
