"""Property tests (Hypothesis) of the plain-HTML readings: the article HTML Briefkit writes is
usually plain (textcontent.PLAIN_HTML_RE), and is then read by regexes and a loop over its tags
instead of token by token (and render.is_sanitised checks it tag by tag). For any HTML built from tags, attributes and text near that form
(and its near misses: an `&`, a stray `<`, a carriage return, upper case, single quotes,
attribute values that look like attributes), each fast reading must give what the token
reading gives.

Examples per test come from the profile in tests/conftest.py (1,000 with CI set).
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from briefkit import exports, search
from briefkit.diagnostics import Report
from briefkit.loader import load_content
from briefkit.text.render import is_sanitised, is_sanitised_by_tokens
from briefkit.textcontent import _read_tokens, is_plain_html, read_article, read_article_slowly
from briefkit.validation import Options, build_model
from conftest import EXAMPLE
from test_sanitiser_properties import HOSTILE_TEXT, as_is_html

PLAIN_TAGS = ["p", "mark", "span", "a", "br", "img", "hr", "wbr", "li", "ul", "div", "h2", "em", "td", "input", "pre",
              "textarea", "script"]
ODD_TAGS = ["P", "Mark", "PRE"]
ATTRIBUTE_NAMES = ["class", "data-quote", "data-actor", "data-article", "id", "href", "title"]
PLAIN_VALUES = ["", "1", "2", "a", "quote", "quote-ref", "x footnote-ref", "footnote-backref", "actor",
                " data-actor=", "x data-quote=", " class=quote-ref", "#quote-1", "'", "a b"]
ODD_VALUES = ["&amp;", ">", "<"]
PLAIN_TEXTS = ["a", "word ", " ", "\n", "\n\n", "\t", "\u00a0", "\u2003", "\u201cq\u201d", 'data-actor="x"',
               " data-quote=\"1\"", ">", "'", '"', "\u2197"]
ODD_TEXTS = ["&", "&amp;", "<", "\r", "\r\n"]


@st.composite
def html(draw, odd: bool, depth: int = 0) -> str:
    """Elements with text around them, nested a few levels, end tags sometimes missing or stray;
    `odd`: with the near misses of plain HTML too."""
    def pick(common: list, rare: list) -> str:
        return draw(st.sampled_from(rare if odd and draw(st.integers(0, 5)) == 0 else common))

    parts = [pick(PLAIN_TEXTS + [""], ODD_TEXTS)]
    for _ in range(draw(st.integers(0, 3 if depth < 3 else 0))):
        name = pick(PLAIN_TAGS, ODD_TAGS)
        attributes = "".join(f" {draw(st.sampled_from(ATTRIBUTE_NAMES))}={quote}{pick(PLAIN_VALUES, ODD_VALUES)}{quote}"
                             for quote in draw(st.lists(st.just('"') if not odd else st.sampled_from(['"'] * 6 + ["'"]),
                                                        max_size=3)))
        inner = draw(html(odd, depth + 1))
        end = draw(st.sampled_from([f"</{name}>"] * 4 + ["", "</p>", "</a>"]))
        parts += [f"<{name}{attributes}{pick(['>'], ['/>'])}{inner}{end}", pick(PLAIN_TEXTS + [""], ODD_TEXTS)]
    return "".join(parts)


PLAIN_HTML = html(odd=False)
NEAR_PLAIN_HTML = html(odd=True)


def outcome(function, *args):
    """What `function` returns, or the error it raises."""
    try:
        return function(*args)
    except Exception as exc:  # noqa: BLE001 (the same error either way is what is compared)
        return type(exc), str(exc)


def token_reading(html: str):
    """read_article(html, whole=True) as it was read before the plain reading: token by token."""
    html = html.replace("\r\n", "\n").replace("\r", "\n")
    reader = _read_tokens(html, True)
    return reader.result() if reader is not None else read_article_slowly(html, True)


@given(PLAIN_HTML)
def test_the_plain_strategy_gives_plain_html(html):
    """Else the fast readings would not be what the tests below exercise."""
    assert is_plain_html(html)


@given(st.one_of(PLAIN_HTML, NEAR_PLAIN_HTML))
def test_an_articles_text_is_read_as_the_token_reader_and_htmlparser_read_it(html):
    assert outcome(read_article, html, True) == outcome(token_reading, html) \
        == outcome(read_article_slowly, html, True)


@given(st.one_of(PLAIN_HTML, NEAR_PLAIN_HTML))
def test_an_articles_words_for_search_are_what_the_token_reading_gives(html):
    assert search.article_text(html) == search.article_text_by_tokens(html)


@given(st.one_of(PLAIN_HTML, NEAR_PLAIN_HTML), st.sampled_from(["", "<main>", "<p data-article>x</p>"]),
       st.sampled_from(["div", "section"]), st.sampled_from(["", ' class="a"', " data-articles", ' id="data-article"']))
def test_the_article_element_is_found_where_the_regex_finds_it(html, before, tag, attributes):
    page = f'{before}<{tag}{attributes} data-article>{html}</{tag}>'
    for text in (page, html, page.replace(" data-article", "\ndata-article=x")):
        found, expected = exports.find_article_tag(text), exports.ARTICLE_TAG.search(text)
        assert (found and found.span()) == (expected and expected.span())


@given(st.one_of(as_is_html(), HOSTILE_TEXT, PLAIN_HTML, NEAR_PLAIN_HTML))
@example('<p>a <mark class="a&amp;b">b</mark></p>')  # what nh3 writes otherwise, in a value
@example('<p>a <span class="actor" data-actor="\u00a0">b</span></p>')
@example('<p>a&amp;b</p>')
@example('<p>a</p> b')
@example('<p>a</p>>')
def test_html_is_taken_as_sanitised_tag_by_tag_as_token_by_token(html):
    assert is_sanitised(html) == is_sanitised_by_tokens(html)


def test_briefkits_article_html_is_plain_unless_it_holds_a_character_reference():
    """The fast readings are what the build uses: the example site's articles (Markdown with a
    table, a footnote and emphasis, and plain text) are plain HTML, but for an `&nbsp;`."""
    report = Report()
    site = build_model(load_content(EXAMPLE, "briefings", report), Options(None, False), report)
    plain = [is_plain_html(b.article_html) for b in site.briefings]
    assert plain == ["&" not in b.article_html for b in site.briefings] and plain.count(True) == 2
