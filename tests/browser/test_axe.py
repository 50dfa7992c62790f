"""axe-core (axe-playwright-python) finds no WCAG 2.2 A/AA violation on any page type (each
briefing, the index, an actor, the actors index, a tag, the tags index, the timeline, search and
the 404 page), in light and dark mode."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from .conftest import ALL_PAGES

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="module")
def axe():
    return Axe()


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']} [{v.get('helpUrl', '')}]")
        for node in v["nodes"]:
            target = " ".join(" >> ".join(t) if isinstance(t, list) else t for t in node["target"])
            summary = (node.get("failureSummary") or "").replace("\n", " ").strip()
            lines.append(f"    {target}: {summary}")
    return "\n".join(lines)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("kind", ALL_PAGES)
def test_no_wcag_violations(site, new_page, axe, kind, scheme):
    page = new_page(color_scheme=scheme, bypass_csp=True)
    response = page.goto(site.page_url(kind), wait_until="load")
    assert response is not None and response.ok
    results = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS},
                                     "resultTypes": ["violations"]})
    violations = results.response["violations"]
    if violations:
        pytest.fail(
            f"{site.path(kind)} ({scheme}): {len(violations)} axe-core "
            f"{results.response['testEngine']['version']} violation(s) of {', '.join(WCAG_TAGS)}:\n"
            + describe(violations),
            pytrace=False,
        )
