"""Property test (Hypothesis): `annotations.jsonld` is written field by field as text; it must be
byte for byte what json gives for the same data (`Exporter.annotations_data`), whatever the
titles, names, roles, notes, languages and URLs hold (quotes, backslashes, control characters,
line separators, lone surrogates, non-ASCII).

Examples per test come from the profile in tests/conftest.py (1,000 with CI set).
"""

from __future__ import annotations

import functools
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from briefkit.diagnostics import Report
from briefkit.exports import Exporter, dump
from briefkit.loader import load_content
from briefkit.validation import Options, build_model
from conftest import EXAMPLE

TEXT = st.one_of(st.text(max_size=12), st.sampled_from(['"', "\\", "\n", "\x00", "\x1f", "\u2028", "\ud800", "é",
                                                         "\u201c", "</script>", "&amp;", ""]))
OPTIONAL = st.one_of(st.none(), TEXT)
KINDS = st.sampled_from(["person", "organization", "group", "country", "place", "other"])


@functools.cache
def example_site():
    report = Report()
    return build_model(load_content(EXAMPLE, "briefings", report), Options(None, False), report)


def outcome(function, *args):
    """What `function` returns, or the error it raises (a lone surrogate cannot be UTF-8)."""
    try:
        return function(*args)
    except Exception as exc:  # noqa: BLE001 (the same error either way is what is compared)
        return type(exc), str(exc)


@given(data=st.data())
def test_the_annotations_text_is_what_json_writes_for_their_data(data):
    site = example_site()
    config = replace(site.config, title=data.draw(TEXT), author=data.draw(OPTIONAL), language=data.draw(TEXT),
                     base_url=data.draw(st.sampled_from([None, "https://example.org/", 'https://e.org/"x\\/'])))
    briefing = data.draw(st.sampled_from(site.briefings))

    def actor(cast_actor):
        return replace(cast_actor, name=data.draw(TEXT), kind=data.draw(KINDS),
                       url=data.draw(st.sampled_from([None, "https://e.org/a", 'https://e.org/"'])),
                       wikidata=data.draw(st.sampled_from([None, "Q1"])))

    cast = tuple(replace(c, actor=actor(c.actor), role=data.draw(OPTIONAL)) for c in briefing.cast)
    by_id = {c.actor.id: c.actor for c in cast}
    quotes = tuple(replace(q, speaker=by_id.get(q.speaker.id, q.speaker), note_html=data.draw(OPTIONAL),
                           to=data.draw(st.sampled_from([None, *by_id.values()])) if data.draw(st.booleans())
                           else q.to)
                   for q in briefing.quotes)
    briefing = replace(briefing, title=data.draw(TEXT), language=data.draw(OPTIONAL), cast=cast, quotes=quotes)
    exporter = Exporter(replace(site, config=config, briefings=(briefing,)))
    page = f'<main><div class="article-text" data-article>\n{briefing.article_html}\n    </div></main>'
    written = outcome(lambda: exporter.annotations(briefing, page).data)
    assert written == outcome(lambda: dump(exporter.annotations_data(briefing, page)))
