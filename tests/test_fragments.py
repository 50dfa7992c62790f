"""Quote permalinks (#quote-<id>, else #quote-N) and links to the passage in the original article
with URL text fragments (WICG Text Fragments: `#:~:text=[prefix-,]start[,end][,-suffix]`)."""

from __future__ import annotations

import re
from urllib.parse import unquote

from hypothesis import given, strategies as st

from briefkit.fragments import encode, passage_url, text_directive
from briefkit.textcontent import read_article
from conftest import article_element, briefing_page, build_ok, quote_marks

# TextDirectiveExplicitChar: what may stand in a directive value without percent-encoding.
EXPLICIT_RE = re.compile(r"^(?:[A-Za-z0-9!$'()*+./:;=?@_~]|%[0-9A-F]{2})*$")


def article(html: str):
    return read_article(html, whole=True)


def mark(number: int, text: str) -> str:
    return f'<mark class="quote" data-quote="{number}"><a href="#quote-{number}">{text}</a></mark>'


def parse_directive(directive: str) -> dict:
    """Split a text directive the way the spec does (on commas), then percent-decode each term."""
    assert directive.startswith("text=")
    terms = directive[len("text="):].split(",")
    found = {"prefix": None, "suffix": None, "end": None}
    if terms[0].endswith("-"):
        found["prefix"] = unquote(terms.pop(0)[:-1])
    if terms[-1].startswith("-"):
        found["suffix"] = unquote(terms.pop()[1:])
    found["start"] = unquote(terms[0])
    if len(terms) == 2:
        found["end"] = unquote(terms[1])
    assert len(terms) in (1, 2), directive
    return found


def refinds(directive: str, text: str) -> bool:
    """True when the directive matches `text` (white space collapsed), prefix and suffix adjacent."""
    d = parse_directive(directive)
    flat = " ".join(text.split())
    pattern = ""
    if d["prefix"]:
        pattern += re.escape(d["prefix"]) + r"\s*"
    pattern += re.escape(d["start"])
    if d["end"]:
        pattern += ".*?" + re.escape(d["end"])
    if d["suffix"]:
        pattern += r"\s*" + re.escape(d["suffix"])
    return re.search(pattern, flat) is not None


# --- encoding ------------------------------------------------------------------------------

def test_syntax_characters_and_non_ascii_are_encoded():
    assert encode("rock-and-roll, salt & pepper") == "rock%2Dand%2Droll%2C%20salt%20%26%20pepper"
    assert encode("déjà vu – “yes”") == "d%C3%A9j%C3%A0%20vu%20%E2%80%93%20%E2%80%9Cyes%E2%80%9D"
    assert encode("can't stop: 100% (now)!") == "can't%20stop:%20100%25%20(now)!"
    assert encode("a#b") == "a%23b"


@given(st.text(min_size=1))
def test_encoding_round_trips_and_leaves_only_explicit_characters(value):
    encoded = encode(value)
    assert EXPLICIT_RE.match(encoded), encoded
    assert not set("-,&# ") & set(encoded)
    assert unquote(encoded) == value   # st.text() has no lone surrogates: all of it is UTF-8


# --- directives ----------------------------------------------------------------------------

def test_quote_with_context_words_on_both_sides():
    a = article(f"<p>The minister said, “{mark(1, 'We will not, ever, pay')}” and left the room.</p>")
    directive = text_directive(a, 1)
    assert directive == "text=minister%20said%2C%20%E2%80%9C-,We%20will%20not%2C%20ever%2C%20pay,-%E2%80%9D%20and%20left"
    assert refinds(directive, a.text)


def test_dashes_ampersands_and_apostrophes():
    a = article(f"<p>Then: {mark(1, 'it’s a well-known fact – fees & tolls rise')} each year.</p>")
    directive = text_directive(a, 1)
    assert directive == ("text=Then:-,it%E2%80%99s%20a%20well%2Dknown%20fact%20%E2%80%93%20fees%20%26%20tolls%20rise,"
                         "-each%20year.")
    assert refinds(directive, a.text)


def test_non_ascii_context_is_kept_and_encoded():
    a = article(f"<p>À Genève, {mark(1, 'la «réunion» a échoué')}, dit-elle.</p>")
    directive = text_directive(a, 1)
    assert directive == ("text=%C3%80%20Gen%C3%A8ve%2C-,la%20%C2%ABr%C3%A9union%C2%BB%20a%20%C3%A9chou%C3%A9,"
                         "-%2C%20dit%2Delle.")
    assert refinds(directive, a.text)


def test_elided_quote_uses_start_and_end():
    a = article(f"<p>He said {mark(2, 'the fees')} — which rose in May — {mark(2, 'are too high')} today.</p>")
    directive = text_directive(a, 2)
    assert directive == "text=He%20said-,the%20fees,are%20too%20high,-today."
    assert refinds(directive, a.text)


def test_quote_split_by_markup_is_one_passage():
    a = article('<p>Yes: <mark data-quote="1"><a>we </a></mark><em><mark data-quote="1"><a>really</a></mark></em>'
                '<mark data-quote="1"><a> will</a></mark>.</p>')
    assert text_directive(a, 1) == "text=Yes:-,we%20really%20will"


def test_context_stays_in_the_paragraph_and_needs_a_word():
    a = article(f"<p>First paragraph ends here.</p>\n<p>“{mark(1, 'Opening words')}.”</p>")
    assert text_directive(a, 1) == "text=Opening%20words"   # no prefix from the paragraph before


def test_line_breaks_and_non_breaking_spaces_collapse():
    passage = mark(1, "no\u00a0more\ntalks")
    a = article(f"<p>said\u00a0the\nchair: {passage}<br>Next line</p>")
    assert text_directive(a, 1) == "text=the%20chair:-,no%20more%20talks"


def test_unmarked_quote_has_no_directive():
    assert text_directive(article("<p>Nothing marked.</p>"), 1) is None


def test_passage_url_keeps_the_query_and_an_existing_fragment():
    a = article(f"<p>So {mark(1, 'this')} is it.</p>")
    assert passage_url("https://x.example/a?b=1&c=2", a, 1) == "https://x.example/a?b=1&c=2#:~:text=So-,this,-is%20it."
    assert passage_url("https://x.example/a#sec", a, 1) == "https://x.example/a#sec:~:text=So-,this,-is%20it."
    assert passage_url("https://x.example/a#sec:~:text=old", a, 1) == "https://x.example/a#sec:~:text=So-,this,-is%20it."
    assert passage_url("https://x.example/a", a, 9) is None


# --- in the built page ---------------------------------------------------------------------

SOURCE_SITE = {
    "s/annotations.yaml": """
        title: Tolls
        date: 2025-01-02
        summary: Tolls rise.
        source:
          url: https://news.example.org/tolls
        actors:
          - id: mara
            name: Mara Quint
        quotes:
          - id: tolls
            text: "tolls, fees & levies – all up"
            speaker: mara
          - text: "it's [...] déjà vu"
            speaker: mara
        """,
    "s/article.md": """
        Mara Quint said that tolls, fees &amp; levies – all up – would hurt.

        “So it's, once again, *déjà vu*,” she said.
        """,
}


def test_cards_link_to_the_passage_in_the_original(content, tmp_path):
    build_ok(content(SOURCE_SITE), tmp_path / "out")
    doc = briefing_page(tmp_path / "out", "s")
    links = {li.get("id"): [a.get("href") for a in li.xpath(".//a[@class='source-passage']")]
             for li in doc.xpath("//li[contains(@class, 'quote-card')]")}
    assert links == {
        "quote-tolls": ["https://news.example.org/tolls#:~:text=said%20that-,tolls%2C%20fees%20%26%20levies%20"
                        "%E2%80%93%20all%20up,-%E2%80%93%20would%20hurt."],
        "quote-2": ["https://news.example.org/tolls#:~:text=%E2%80%9CSo-,it's,d%C3%A9j%C3%A0%20vu,"
                    "-%2C%E2%80%9D%20she%20said."],
    }
    text = article_element(doc).text_content()
    for (href,) in links.values():
        assert refinds(href.split("#:~:", 1)[1], text)


def test_no_source_url_no_source_link(content, tmp_path):
    files = dict(SOURCE_SITE)
    files["s/annotations.yaml"] = files["s/annotations.yaml"].replace(
        "        source:\n          url: https://news.example.org/tolls\n", "")
    build_ok(content(files), tmp_path / "out")
    doc = briefing_page(tmp_path / "out", "s")
    assert doc.xpath("//a[@class='source-passage']") == []
    assert len(doc.xpath("//p[@class='quote-back']")) == 2


# --- permalinks ----------------------------------------------------------------------------

def permalink_site(order: list[str]) -> dict[str, str]:
    quotes = {
        "a": "  - id: first-words\n    text: alpha beta\n    speaker: mara\n",
        "b": "  - text: gamma delta\n    speaker: mara\n",
    }
    return {
        "p/annotations.yaml": "title: P\ndate: 2025-01-02\nsummary: S.\nactors:\n  - id: mara\n    name: Mara\n"
                              "quotes:\n" + "".join(quotes[k] for k in order),
        "p/article.txt": "Mara said alpha beta and gamma delta.\n",
    }


def card_and_mark(doc, anchor: str) -> tuple[str, str]:
    """The quote text on the card with this id, and the article passage whose mark links to it."""
    card = doc.xpath(f"//li[@id='{anchor}']")
    assert len(card) == 1, anchor
    marks = article_element(doc).xpath(f".//mark[a/@href='#{anchor}']")
    return card[0].xpath("string(.//blockquote)").strip(), "".join(m.text_content() for m in marks)


def test_quote_id_permalink_survives_reordering(content, tmp_path):
    build_ok(content(permalink_site(["a", "b"]), "one"), tmp_path / "one-out")
    build_ok(content(permalink_site(["b", "a"]), "two"), tmp_path / "two-out")
    before, after = briefing_page(tmp_path / "one-out", "p"), briefing_page(tmp_path / "two-out", "p")
    assert card_and_mark(before, "quote-first-words") == card_and_mark(after, "quote-first-words") \
        == ("alpha beta", "alpha beta")
    # Without an id a quote is quote-N: its position, so reordering moves that anchor.
    assert card_and_mark(before, "quote-2") == ("gamma delta", "gamma delta")
    assert card_and_mark(after, "quote-1") == ("gamma delta", "gamma delta")
    # The card links back to the passage; the passage's mark carries data-quote=N.
    assert after.xpath("//li[@id='quote-first-words']//a[starts-with(@href, '#passage-')]/@href") \
        == ["#passage-first-words"]
    assert [m.get("id") for m in quote_marks(after, 2)][:1] == ["passage-first-words"]


WORDS = st.text(alphabet="abcé,-&'’“”.–:!", min_size=1, max_size=6)


@given(st.lists(WORDS, max_size=4), st.lists(WORDS, min_size=1, max_size=4), st.lists(WORDS, max_size=4))
def test_directive_refinds_any_marked_passage(before, quoted, after):
    from html import escape
    html = "<p>" + escape(" ".join(before + [""])) + mark(1, escape(" ".join(quoted))) \
        + escape(" ".join([""] + after)) + "</p>"
    a = article(html)
    directive = text_directive(a, 1)
    terms = directive[len("text="):].split(",")
    assert all(EXPLICIT_RE.match(term.strip("-")) for term in terms), directive  # `-` only as syntax
    assert refinds(directive, a.text), (html, directive)
