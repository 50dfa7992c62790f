"""Folding, quote anchoring, actor mentions and article rendering (contract sections 1 and 4)."""

from __future__ import annotations

import random
import re
import textwrap
import unicodedata

import lxml.html
import pytest

from briefkit import cli
from briefkit.text.anchoring import QuoteSpec, quote_parts
from briefkit.text.folding import fold, fold_quote, fold_with_map, fold_with_map_slowly
from briefkit.text.mentions import ActorSpec
from briefkit.text.render import Renderer
from conftest import article_element, briefing_page, build_ok, build_site, make_content, quote_marks

RENDERER = Renderer()


def render(text: str, fmt: str = "txt", quotes=(), actors=()):
    """Render an article; quotes are texts or (text, occurrence); actors are (id, names).

    Returns the article as an lxml element (a wrapping <div>) and the RenderedArticle.
    """
    specs = []
    for number, quote in enumerate(quotes, 1):
        quote_text, occurrence = (quote, None) if isinstance(quote, str) else quote
        specs.append(QuoteSpec(number, str(number), quote_parts(quote_text), occurrence))
    actor_specs = tuple(ActorSpec(actor_id, tuple(names), f"../../actors/{actor_id}/index.html")
                        for actor_id, names in actors)
    result = RENDERER.article(textwrap.dedent(text), fmt, tuple(specs), actor_specs)
    root = lxml.html.fragment_fromstring(result.html, create_parent="div")
    return root, result


def marks(root, number: int):
    """The outermost elements marking quote N, in document order."""
    return root.xpath(f".//*[@data-quote='{number}'][not(ancestor::*[@data-quote='{number}'])]")


def marked_text(root, number: int) -> str:
    return "".join(el.text_content() for el in marks(root, number))


def assert_anchored(root, result, number: int, passage: str):
    """Quote N was found once, its marks join to `passage` (folded) and link to the card."""
    outcome = result.quotes[number - 1]
    assert outcome.anchored, f"quote {number} not anchored: {outcome}"
    found = marks(root, number)
    assert found, f"quote {number} has no data-quote elements"
    assert fold(marked_text(root, number)) == fold(passage)
    assert found[0].get("id") == f"passage-{number}"
    assert root.xpath(f".//*[@data-quote='{number}']//a[@href='#quote-{number}']"), "passage does not link to its card"
    assert not root.xpath(".//a[ancestor::a]"), "a link nested inside a link"


# --- folding ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mark", ['"', "\u201c", "\u201d", "\u201e", "\u201f", "\u00ab", "\u00bb", "\u301d",
                                  "\u301e", "\uff02"])
def test_fold_double_quote_marks_are_one_mark(mark):
    assert fold(f"a{mark}b") == 'a"b'


@pytest.mark.parametrize("mark", ["'", "\u2018", "\u2019", "\u201a", "\u201b", "\u2039", "\u203a", "\u02bc",
                                  "\uff07"])
def test_fold_single_quote_marks_are_one_mark(mark):
    assert fold(f"it{mark}s") == "it's"


@pytest.mark.parametrize("dash", ["-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212",
                                  "\ufe58", "\ufe63", "\uff0d"])
def test_fold_dashes_are_one_mark(dash):
    assert fold(f"left{dash}right") == "left-right"


def test_fold_ellipsis_is_three_dots():
    assert fold("wait\u2026 what") == "wait... what"
    assert fold("wait\u2026") == fold("wait...")


@pytest.mark.parametrize("space", ["  ", "\u00a0", "\u00a0\u00a0", "\n", "\n\n", " \n ", "\t", "\u2009",
                                   "\u202f", "\u2003", "\u3000", "\r\n"])
def test_fold_white_space_runs_are_one_space(space):
    assert fold(f"one{space}two") == "one two"


@pytest.mark.parametrize("invisible", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"])
def test_fold_removes_zero_width_characters_and_soft_hyphens(invisible):
    assert fold(f"anti{invisible}war") == "antiwar"
    assert fold(f"a {invisible} b") == "a b"


def test_fold_is_nfkc():
    assert fold("\uff21\uff22\uff23\uff11\uff12") == "ABC12"  # full-width letters and digits
    assert fold("\ufb01nal") == "final"  # the fi ligature
    assert fold("x\u00b2") == "x2"


@pytest.mark.parametrize("article_form, quote_form", [("NFD", "NFC"), ("NFC", "NFD")])
def test_fold_nfd_input_matches_nfc(article_form, quote_form):
    forms = {"NFD": "cafe\u0301 Zu\u0308rich", "NFC": "caf\u00e9 Z\u00fcrich"}
    assert fold(forms["NFD"]) == fold(forms["NFC"])
    article, quote = forms[article_form], forms[quote_form]
    root, result = render(f"They met at the {article} today.", quotes=[f"the {quote} today"])
    assert_anchored(root, result, 1, f"the {article} today")
    assert marked_text(root, 1) == f"the {article} today"  # the raw text, combining marks included


@pytest.mark.parametrize("word", ["\ud55c\uad6d\uc5b4", "\u0b95\u0bca\u0bb4\u0bbf", "\u09ac\u09cb\u09a8"],
                         ids=["korean", "tamil", "bengali"])
def test_fold_nfd_matches_nfc_where_nfc_composes_non_combining_characters(word):
    # Hangul jamo and some Indic vowel signs have combining class 0 yet compose under NFC.
    nfd, nfc = unicodedata.normalize("NFD", word), unicodedata.normalize("NFC", word)
    assert nfd != nfc and fold(nfd) == fold(nfc) == nfc
    assert fold_with_map(nfd).text == fold_with_map_slowly(nfd).text == nfc
    root, result = render(f"They said {nfc} today.", quotes=[f"said {nfd} today"])
    assert_anchored(root, result, 1, f"said {nfc} today")


def test_fold_keeps_case_and_letters():
    assert fold("Hello World") == "Hello World"
    assert fold("hello") != fold("Hello")


def test_fold_quote_strips_marks_and_spaces_at_the_ends():
    assert fold_quote('  \u201cHello, world.\u201d  ') == "Hello, world."
    assert fold_quote("\u2018 Hi \u2019") == "Hi"
    assert fold_quote('\n"\u00a0We will\n  go."\n') == "We will go."
    # Only the ends: marks inside the quote stay.
    assert fold_quote("\u201cHe said \u2018no\u2019 twice\u201d") == "He said 'no' twice"


def test_fold_with_map_leads_back_to_the_raw_text():
    raw = "He said \u201cit\u2019s\u00a0\u00a0fine\u2026\u201d today."
    folded = fold_with_map(raw)
    start = folded.text.index("it's fine...")
    raw_start, raw_end = folded.raw_span(start, start + len("it's fine..."))
    assert raw[raw_start:raw_end] == "it\u2019s\u00a0\u00a0fine\u2026"


# Characters that stress the folding: ASCII (the fast path), and everything it must hand over.
TRICKY = list("ab Z9.,-'\"`") + [" ", "  ", "\n", "\t", "\u00a0", "\u0301", "\u0308", "\u201c", "\u2019",
                                   "\u2014", "\u2026", "\u200b", "\u00ad", "\uff21", "\ufb01", "\u00e9", "\u3000"]


def test_fast_folding_equals_the_reference_folding():
    """fold_with_map takes an ASCII fast path; it must agree with the one-group-at-a-time folding."""
    rng = random.Random(20250709)
    for _ in range(3000):
        raw = "".join(rng.choice(TRICKY) for _ in range(rng.randint(0, 14)))
        fast, slow = fold_with_map(raw), fold_with_map_slowly(raw)
        assert (fast.text, list(fast.starts), list(fast.ends)) == (slow.text, list(slow.starts), list(slow.ends)), raw


def test_folded_map_spans_refold_to_the_same_text():
    rng = random.Random(7)
    for _ in range(1000):
        raw = "".join(rng.choice(TRICKY) for _ in range(rng.randint(1, 12)))
        folded = fold_with_map(raw)
        text = folded.text
        # Cut only where the raw text can be cut: not inside one raw group that folds to several
        # characters (an ellipsis, a ligature, a letter with a combining mark NFKC cannot compose).
        cuts = [i for i in range(len(text) + 1)
                if i in (0, len(text)) or folded.starts[i] >= folded.ends[i - 1]]
        for start in cuts:
            for end in (e for e in cuts if e > start):
                if text[start] == " " or text[end - 1] == " ":
                    continue  # a space stands for a whole run: its span is the run
                a, b = folded.raw_span(start, end)
                assert fold(raw[a:b]) == text[start:end], (raw, start, end)


# --- anchoring --------------------------------------------------------------------------------


@pytest.mark.parametrize("article, quote", [
    ("He said \u201cit\u2019s fine\u201d today.", "\"it's fine\""),
    ("He said \"it's fine\" today.", "\u201cit\u2019s fine\u201d"),
    ("He said \u00abit\u2019s fine\u00bb today.", "it's fine"),
])
def test_curly_and_straight_marks_match(article, quote):
    root, result = render(article, quotes=[quote])
    assert_anchored(root, result, 1, "it's fine")


@pytest.mark.parametrize("article_dash", ["\u2013", "\u2014", "-", "\u2212"])
@pytest.mark.parametrize("quote_dash", ["-", "\u2014"])
def test_dashes_match_each_other(article_dash, quote_dash):
    root, result = render(f"A long war{article_dash}and a short peace.", quotes=[f"war{quote_dash}and a short"])
    assert_anchored(root, result, 1, "war-and a short")


def test_non_breaking_and_double_spaces_match_one_space():
    root, result = render("The Prime\u00a0Minister  said no.", quotes=["Prime Minister said"])
    assert_anchored(root, result, 1, "Prime Minister said")
    assert marked_text(root, 1) == "Prime\u00a0Minister  said"


def test_ellipsis_in_article_matches_three_dots():
    root, result = render("Well\u2026 we will see.", quotes=["Well... we will"])
    assert_anchored(root, result, 1, "Well... we will")


def test_quote_across_emphasis_and_link_in_markdown():
    text = "Before. \u201cWe will *not* reopen the [harbour deal](https://example.org/deal) this year.\u201d After."
    root, result = render(text, "md", quotes=["We will not reopen the harbour deal this year."])
    assert_anchored(root, result, 1, "We will not reopen the harbour deal this year.")
    # The author's link and emphasis survive around the marked text.
    assert root.xpath(".//em//*[@data-quote='1']")
    link = root.xpath(".//a[@href='https://example.org/deal']")
    assert len(link) == 1 and link[0].text_content() == "harbour deal"
    # The passage is within one paragraph.
    assert all(next(m.iterancestors("p")) is next(marks(root, 1)[0].iterancestors("p")) for m in marks(root, 1))


def test_quote_inside_strong_and_code_span():
    root, result = render("She said **it is done** and left.", "md", quotes=["it is done and"])
    assert_anchored(root, result, 1, "it is done and")


def test_line_break_inside_quote_plain_text():
    text = """\
        The minister spoke at length. She said the harbour
        would reopen next spring, and not before.

        A second paragraph follows.
        """
    root, result = render(text, quotes=["the harbour would reopen next spring"])
    assert_anchored(root, result, 1, "the harbour would reopen next spring")
    assert "\n" in marked_text(root, 1)  # the raw text keeps its line break


def test_line_break_inside_quote_markdown_hard_break():
    root, result = render("He said it was  \nover for now.", "md", quotes=["it was over for now"])
    assert result.quotes[0].anchored
    assert fold(marked_text(root, 1)) == "it was over for now"


def test_quote_split_across_yaml_lines_matches():
    # A folded YAML scalar or a quote copied with line breaks: white space is white space.
    root, result = render("We came here to fix the quays, not to win an argument.",
                          quotes=["We came here to fix\n  the quays,\nnot to win"])
    assert_anchored(root, result, 1, "We came here to fix the quays, not to win")


def test_elision_marks_each_part_in_one_paragraph():
    text = "Port Ellery belongs to both our peoples, she said, and so do its problems."
    root, result = render(text, quotes=["Port Ellery belongs to both [...] so do its problems"])
    outcome = result.quotes[0]
    assert outcome.anchored and outcome.matches == 1
    found = marks(root, 1)
    texts = [fold(el.text_content()) for el in found]
    assert "Port Ellery belongs to both" in "".join(texts)
    assert "so do its problems" in "".join(texts)
    # The elided words are not marked.
    assert "she said" not in marked_text(root, 1)
    assert found[0].get("id") == "passage-1"
    assert len({id(next(el.iterancestors("p"))) for el in found}) == 1


def test_elision_with_unicode_ellipsis():
    root, result = render("One two three four five.", quotes=["One two [\u2026] four five"])
    assert result.quotes[0].anchored
    assert "three" not in marked_text(root, 1)


def test_elision_parts_must_be_in_order():
    root, result = render("Alpha beta gamma delta.", quotes=["gamma [...] Alpha"])
    assert not result.quotes[0].anchored and result.quotes[0].matches == 0
    assert not marks(root, 1)


def test_elision_parts_in_different_paragraphs_are_not_found():
    text = """\
        Alpha beta gamma.

        Delta epsilon zeta.
        """
    root, result = render(text, quotes=["Alpha beta [...] epsilon zeta"])
    assert result.quotes[0].matches == 0 and not result.quotes[0].anchored
    assert not marks(root, 1)


def test_quote_across_two_paragraphs_is_not_found():
    text = """\
        The first paragraph ends here.

        The second begins here.
        """
    root, result = render(text, quotes=["ends here. The second"])
    assert result.quotes[0].matches == 0


def test_occurrence_two_marks_the_second_match():
    text = "no deal today. They said: no deal today. Really no deal."
    root, result = render(text, quotes=[("no deal today", 2)])
    outcome = result.quotes[0]
    assert outcome.anchored and outcome.matches == 2
    found = marks(root, 1)
    assert fold(marked_text(root, 1)) == "no deal today"
    paragraph = found[0].getparent()
    before = (paragraph.text or "")
    assert before == "no deal today. They said: "


def test_occurrence_beyond_the_matches_is_not_anchored():
    root, result = render("once and once", quotes=[("once", 3)])
    assert result.quotes[0].matches == 2 and not result.quotes[0].anchored
    assert not marks(root, 1)


def test_ambiguous_quote_anchors_the_first_match():
    root, result = render("Yes we can. Yes we can.", quotes=["Yes we can"])
    outcome = result.quotes[0]
    assert outcome.anchored and outcome.matches == 2
    found = marks(root, 1)
    assert len(found) == 1
    assert found[0].getparent().text is None  # at the very start of the paragraph


def test_quote_matching_is_case_sensitive():
    root, result = render("The President said no. Other words follow.", quotes=["the president said no"])
    assert result.quotes[0].matches == 0 and not result.quotes[0].anchored
    assert not marks(root, 1)
    assert result.quotes[0].closest == "The President said no."


def test_quote_inside_an_authors_link_still_links_to_its_card():
    """Contract 4: "the marked passage links to the card" -- also when an author's link covers it.

    A link cannot hold another, so the mark inside the author's link cannot be the link itself;
    the passage still needs a way to the card (e.g. a link right after it).
    """
    root, result = render("See [we will not reopen](https://example.org/x) now.", "md",
                          quotes=["we will not reopen"])
    assert result.quotes[0].anchored
    assert fold(marked_text(root, 1)) == "we will not reopen"
    assert not root.xpath(".//a[ancestor::a]")
    assert root.xpath(".//a[@href='#quote-1']"), "the passage has no link to its card"


def test_quote_inside_a_first_mention_still_links_to_its_card():
    """A quote that is (part of) an actor's first mention: the mention link must not swallow the
    passage's link to its card (Briefkit made that mention link itself, so it can choose)."""
    root, result = render("Al Smith spoke first. Then more.", quotes=["Smith"], actors=[("al-smith", ("Al Smith",))])
    assert result.quotes[0].anchored
    assert fold(marked_text(root, 1)) == "Smith"
    assert not root.xpath(".//a[ancestor::a]")
    assert root.xpath(".//a[@href='#quote-1']"), "the passage has no link to its card"


def test_two_quotes_in_one_paragraph_both_marked():
    root, result = render("Alpha said one thing. Beta said another.", quotes=["one thing", "another"])
    assert_anchored(root, result, 1, "one thing")
    assert_anchored(root, result, 2, "another")


def test_quote_in_a_table_cell_and_footnote():
    text = """\
        | Who | Said |
        |-----|------|
        | Ann | we are ready |

        Text.[^1]

        [^1]: Footnote says we will wait.
        """
    root, result = render(text, "md", quotes=["we are ready", "we will wait"])
    assert_anchored(root, result, 1, "we are ready")
    assert marks(root, 1)[0].xpath("ancestor::td")
    assert_anchored(root, result, 2, "we will wait")


# Through a build: warnings, errors and their hints.

ANCHOR_SITE = {
    "one/annotations.yaml": textwrap.dedent("""\
        title: One
        date: 2025-01-02
        summary: Sum.
        actors:
          - id: al-smith
            name: Al Smith
            aliases: [Smith]
        quotes:
          - text: Smith
            speaker: al-smith
        """),
    "one/article.txt": textwrap.dedent("""\
        First line here.

        The quick brown fox jumps over the lazy dog,
        said Al Smith.

        Smith said it again.
        """),
}


def test_ambiguous_quote_is_a_warning_and_the_first_is_anchored(tmp_path):
    src = make_content(tmp_path, ANCHOR_SITE)
    stderr = build_ok(src, tmp_path / "out")
    warnings = [line for line in stderr.splitlines() if ": warning:" in line]
    assert len(warnings) == 1, stderr
    assert re.match(r".*one/annotations\.yaml:9:\d+: warning: .*quote 1.* 2 times", warnings[0]), warnings[0]
    assert "occurrence" in stderr  # the hint says how to choose
    doc = briefing_page(tmp_path / "out", "one")
    found = quote_marks(doc, 1)
    assert len(found) == 1 and found[0].text_content() == "Smith"
    assert "said Al " in next(found[0].iterancestors("p")).text_content()  # the one in the second paragraph


def test_quote_not_found_is_an_error_with_the_closest_passage(tmp_path):
    files = dict(ANCHOR_SITE)
    files["one/annotations.yaml"] = files["one/annotations.yaml"].replace(
        "- text: Smith", "- text: the quick brown fox jumps over the lazy cat")
    src = make_content(tmp_path, files)
    code, stdout, stderr = build_site(src, tmp_path / "out")
    assert code == 1
    lines = stderr.splitlines()
    error = next(i for i, line in enumerate(lines) if ": error:" in line)
    assert re.match(r".*one/annotations\.yaml:9:\d+: error: quote 1 is not in the article", lines[error])
    hint = "\n".join(lines[error + 1:])
    # The closest passage (it differs in case and one word), with the article file and line.
    assert re.search(r'one/article\.txt:3\b.*"The quick brown fox jumps over the lazy', hint), hint
    assert not (tmp_path / "out").exists()


def test_quote_in_different_case_is_an_error(tmp_path):
    files = dict(ANCHOR_SITE)
    files["one/annotations.yaml"] = files["one/annotations.yaml"].replace("- text: Smith",
                                                                          "- text: Smith Said It Again")
    src = make_content(tmp_path, files)
    code, stdout, stderr = build_site(src, tmp_path / "out")
    assert code == 1
    assert "quote 1 is not in the article" in stderr
    assert re.search(r'one/article\.txt:6\b.*Smith said it again', stderr), stderr


def test_occurrence_in_a_build_anchors_that_match(tmp_path):
    files = dict(ANCHOR_SITE)
    files["one/annotations.yaml"] = files["one/annotations.yaml"].replace(
        "speaker: al-smith", "speaker: al-smith\n    occurrence: 2")
    src = make_content(tmp_path, files)
    stderr = build_ok(src, tmp_path / "out")
    assert "warning" not in stderr
    doc = briefing_page(tmp_path / "out", "one")
    found = quote_marks(doc, 1)
    assert found and next(found[0].iterancestors("p")).text_content().startswith("Smith said it again")


# --- actor mentions -----------------------------------------------------------------------------

TRUMP = ("donald-trump", ("Donald Trump", "Trump"))


def mentions(root, actor_id=None):
    query = ".//*[@data-actor]" if actor_id is None else f".//*[@data-actor='{actor_id}']"
    return root.xpath(query)


def test_mentions_match_on_word_boundaries():
    root, result = render("Trump played the Trumpet; Trumps and MrTrump are not him. Trump is.",
                          actors=[TRUMP])
    found = mentions(root)
    assert [el.text_content() for el in found] == ["Trump", "Trump"]
    assert dict(result.mentions) == {"donald-trump": 2}
    assert "Trumpet" in root.text_content()


def test_longest_name_wins():
    root, result = render("Donald Trump spoke. Later Trump left.", actors=[TRUMP])
    assert [el.text_content() for el in mentions(root)] == ["Donald Trump", "Trump"]
    assert dict(result.mentions) == {"donald-trump": 2}


def test_longest_name_wins_across_actors():
    actors = [("new-york", ("New York",)), ("new-york-times", ("New York Times",))]
    root, result = render("The New York Times is based in New York.", actors=actors)
    assert [(el.get("data-actor"), el.text_content()) for el in mentions(root)] == [
        ("new-york-times", "New York Times"), ("new-york", "New York")]


def test_first_mention_is_a_link_later_ones_spans():
    root, result = render("Trump met Putin. Trump left. Then Putin spoke and Trump replied.",
                          actors=[TRUMP, ("vladimir-putin", ("Putin",))])
    trump = mentions(root, "donald-trump")
    putin = mentions(root, "vladimir-putin")
    assert [el.tag for el in trump] == ["a", "span", "span"]
    assert [el.tag for el in putin] == ["a", "span"]
    assert trump[0].get("href") == "../../actors/donald-trump/index.html"
    assert putin[0].get("href") == "../../actors/vladimir-putin/index.html"


def test_mention_inside_an_authors_link_is_a_span():
    root, result = render("See [Trump's site](https://example.org/t). Trump spoke later.", "md", actors=[TRUMP])
    found = mentions(root)
    assert [el.tag for el in found] == ["span", "a"]
    assert found[0].xpath("ancestor::a[@href='https://example.org/t']")
    assert not root.xpath(".//a[ancestor::a]")


def test_mentions_are_not_marked_inside_code():
    text = """\
        Use `Trump` in code.

        ```
        Trump = 1
        ```

        Trump is mentioned here.
        """
    root, result = render(text, "md", actors=[TRUMP])
    assert not root.xpath(".//code//*[@data-actor]")
    assert [el.text_content() for el in mentions(root)] == ["Trump"]
    assert mentions(root)[0].tag == "a"
    assert dict(result.mentions) == {"donald-trump": 1}


def test_mention_broken_across_lines():
    root, result = render("Speaking with Teodor\nLind, she said.\n\nNext.", actors=[("teodor-lind", ("Teodor Lind",))])
    assert [re.sub(r"\s+", " ", el.text_content()) for el in mentions(root)] == ["Teodor Lind"]


def test_mentions_and_quotes_together_keep_links_unnested():
    root, result = render("Trump said: Trump will win. Trump again.", "md",
                          quotes=["Trump will win"], actors=[TRUMP])
    assert fold(marked_text(root, 1)) == "Trump will win"
    assert not root.xpath(".//a[ancestor::a]")
    assert len(mentions(root)) == 3


def test_first_mention_links_to_actor_page_in_a_build(tmp_path):
    src = make_content(tmp_path, ANCHOR_SITE)
    build_ok(src, tmp_path / "out")
    doc = briefing_page(tmp_path / "out", "one")
    article = article_element(doc)
    found = article.xpath(".//*[@data-actor='al-smith']")
    assert [el.tag for el in found][:1] == ["a"]
    assert all(el.tag == "span" for el in found[1:])
    assert found[0].text_content() == "Al Smith"
    assert found[0].get("href") == "../../actors/al-smith/index.html"
    assert (tmp_path / "out" / "briefings" / "one" / found[0].get("href")).resolve() == \
        (tmp_path / "out" / "actors" / "al-smith" / "index.html").resolve()


# --- plain text and Markdown articles ------------------------------------------------------------


def test_plain_text_is_literal():
    text = "He said sh*t, s**t and bulls**t. _Not_ emphasis. <b>not bold</b> &amp; [x](y)\n\n# not a heading\n"
    root, result = render(text)
    body = root.text_content()
    for literal in ("sh*t", "s**t", "bulls**t", "_Not_", "<b>not bold</b>", "&amp;", "# not a heading", "[x](y)"):
        assert literal in body, literal
    assert not root.xpath(".//b | .//em | .//strong | .//h1 | .//h2 | .//a | .//i")
    assert [p.tag for p in root] == ["p", "p"]


def test_plain_text_paragraphs_split_at_blank_lines():
    text = "First line\nstill first.\n\nSecond.\n   \nThird."
    root, result = render(text)
    paragraphs = root.xpath("./p")
    assert [" ".join(p.text_content().split()) for p in paragraphs] == ["First line still first.", "Second.", "Third."]


def test_plain_text_without_blank_lines_every_line_is_a_paragraph():
    root, result = render("One.\nTwo.\nThree.\n")
    assert [p.text_content() for p in root.xpath("./p")] == ["One.", "Two.", "Three."]
    root, result = render("One.\n Two. \nThree.")
    assert [p.text_content() for p in root.xpath("./p")] == ["One.", "Two.", "Three."]


def test_plain_text_quote_not_across_lines_when_lines_are_paragraphs():
    root, result = render("He said one\nthing and left.\n", quotes=["one thing"])
    assert result.quotes[0].matches == 0


def test_markdown_tables_fenced_code_and_footnotes_render():
    text = """\
        # Heading

        | Berth | Size |
        |-------|-----:|
        | North | 5 t  |

        ```python
        print("<hi>")
        ```

        A claim.[^1]

        [^1]: The source.
        """
    root, result = render(text, "md")
    assert root.xpath(".//table//th") and root.xpath(".//table//td[.='North']")
    code = root.xpath(".//pre/code")
    assert code and 'print("<hi>")' in code[0].text_content()
    assert root.xpath(".//sup//a[@href='#fn:1']")
    assert root.xpath(".//li[@id='fn:1']") and "The source." in root.xpath("string(.//li[@id='fn:1'])")
    # The page title is the only h1: article headings move down a level.
    assert not root.xpath(".//h1") and root.xpath(".//h2[.='Heading']")


def test_markdown_raw_html_is_text():
    root, result = render('<b>bold</b> and <span onclick="x()">span</span>\n\n<div>block</div>\n', "md")
    assert not root.xpath(".//b | .//div | .//*[@onclick]")
    assert "<b>bold</b>" in root.text_content()
    assert "<div>block</div>" in root.text_content()


# --- entities, footnote marks, mention spelling (recent behaviour) --------------------------------

PLACEHOLDERS = ("\x02", "\x03")  # Python-Markdown's stash markers: never for a reader's eyes


def assert_no_placeholders(text: str, where: str = "") -> None:
    for mark in PLACEHOLDERS:
        assert mark not in text, f"placeholder {mark!r} in {where or 'output'}: {text!r}"


def test_entity_nbsp_counts_as_a_space_for_quotes():
    root, result = render("He played rock&nbsp;and&nbsp;roll all night.\n", "md", quotes=["rock and roll"])
    assert_anchored(root, result, 1, "rock and roll")
    assert marked_text(root, 1) == "rock\u00a0and\u00a0roll"
    assert_no_placeholders(result.html)


def test_entity_mdash_counts_as_a_dash_for_quotes():
    root, result = render("Then Bob Jones &mdash; and more came in.\n", "md", quotes=["Bob Jones \u2014 and more"])
    assert_anchored(root, result, 1, "Bob Jones \u2014 and more")
    assert marked_text(root, 1) == "Bob Jones \u2014 and more"
    assert_no_placeholders(result.html)


def test_entity_amp_in_an_actor_name_is_a_mention():
    root, result = render("Shares of Procter &amp; Gamble rose. Later Procter &amp; Gamble said no.\n", "md",
                          actors=[("procter-gamble", ("Procter & Gamble",))])
    found = mentions(root)
    assert [(el.tag, el.get("data-actor"), el.text_content()) for el in found] == [
        ("a", "procter-gamble", "Procter & Gamble"), ("span", "procter-gamble", "Procter & Gamble")]
    assert dict(result.mentions) == {"procter-gamble": 2}
    assert "Procter &amp; Gamble" in result.html  # escaped once, as HTML, not twice
    assert_no_placeholders(result.html)


@pytest.mark.parametrize("text", [
    "![Procter &amp; Gamble logo](logo.png \"A &amp; B\") and &copy; 2025.\n",
    "[Procter &amp; Gamble](https://example.org/?a=1&amp;b=2 \"P &amp; G\")\n",
    "# Procter &amp; Gamble\n\n| A &amp; B | &copy; |\n|---|---|\n| x &mdash; y | z |\n",
    "Text.[^1]\n\n[^1]: Note &amp; more &#8212; and &#x2014; Procter &amp; Gamble.\n",
    "*Procter &amp; Gamble*  \n**x&nbsp;y** and `a &amp; b` and &unknown; &#0;\n",
    "- item &amp; one\n- Procter &amp; Gamble &hellip;\n",
])
def test_entities_leave_no_placeholder_anywhere(text):
    root, result = render(text, "md", quotes=["Procter & Gamble", "not in this article at all"],
                          actors=[("procter-gamble", ("Procter & Gamble",))])
    assert_no_placeholders(result.html, "the article")
    assert_no_placeholders(root.text_content(), "the article text")
    for element in root.iter():
        for name, value in element.attrib.items():
            assert_no_placeholders(value, f"attribute {name}")
    assert_no_placeholders(result.quotes[1].closest or "", "the closest passage")


def test_entities_leave_no_placeholder_in_the_site_or_the_diagnostics(tmp_path, capsys):
    files = {
        "talks/annotations.yaml": """
            title: Procter & Gamble talks
            date: 2025-08-14
            summary: "Procter &amp; Gamble meet &mdash; again.\\n\\nSecond&nbsp;paragraph."
            actors:
              - id: procter-gamble
                name: Procter & Gamble
                kind: organization
            quotes:
              - text: rock and roll
                speaker: procter-gamble
                note: "Said &ldquo;twice&rdquo; &amp; more."
            """,
        "talks/article.md": """
            # Procter &amp; Gamble

            Procter &amp; Gamble said rock&nbsp;and&nbsp;roll &mdash; twice.[^1]

            [^1]: Procter &amp; Gamble&rsquo;s note.
            """,
    }
    src = make_content(tmp_path, files)
    stderr = build_ok(src, tmp_path / "out")
    assert_no_placeholders(stderr, "the build's diagnostics")
    for path in sorted((tmp_path / "out").rglob("*")):
        if path.is_file() and path.suffix in (".html", ".xml", ".txt", ".json"):
            assert_no_placeholders(path.read_text(encoding="utf-8"), str(path.relative_to(tmp_path)))
    doc = briefing_page(tmp_path / "out", "talks")
    assert [el.text_content() for el in article_element(doc).xpath(".//*[@data-actor='procter-gamble']")][:2] == [
        "Procter & Gamble", "Procter & Gamble"]
    # A quote that is not there: the closest passage is built from the same restored text.
    (src / "talks" / "annotations.yaml").write_text(
        (src / "talks" / "annotations.yaml").read_text(encoding="utf-8").replace(
            "text: rock and roll", "text: Procter & Gamble said rock and rule"), encoding="utf-8")
    code = cli.main(["check", "--src", str(src)])
    err = capsys.readouterr().err
    assert code == 1
    assert '): "Procter & Gamble said rock and roll' in err, err
    assert_no_placeholders(err, "the check's diagnostics")


def test_closest_passage_line_is_found_through_entities(tmp_path, capsys):
    """The closest passage is the text a reader sees (entities restored); the line it names must be
    the line of the article that holds it, not an earlier line sharing its first word."""
    files = {
        "talks/annotations.yaml": """
            title: Talks
            date: 2025-08-14
            summary: Talks.
            actors:
              - id: procter-gamble
                name: Procter & Gamble
            quotes:
              - text: Procter & Gamble said rock and rule
                speaker: procter-gamble
            """,
        "talks/article.md": """
            # Procter &amp; Gamble

            Procter &amp; Gamble said rock&nbsp;and&nbsp;roll &mdash; twice.
            """,
    }
    src = make_content(tmp_path, files)
    assert cli.main(["check", "--src", str(src)]) == 1
    err = capsys.readouterr().err
    assert f'closest passage ({src}/talks/article.md:3): "Procter & Gamble said rock and roll' in err, err


def test_automatic_email_link_leaves_no_placeholder_in_the_closest_passage():
    """`<press@example.org>` is an automatic link; Python-Markdown writes its text as character
    entities behind its own `\\x02amp\\x03` marker, which must never reach a diagnostic."""
    root, result = render("Amara Voss said: write to <press@example.org> for the details.\n", "md",
                          quotes=["write to press@example.com for the details"])
    assert result.quotes[0].matches == 0
    assert "press@example.org" in result.quotes[0].closest
    assert_no_placeholders(result.quotes[0].closest, "the closest passage")
    assert "press@example.org" in result.html


def test_automatic_email_link_can_be_quoted():
    """The reader sees the address, so a quote of it matches, as with any other entity."""
    root, result = render("Amara Voss said: write to <press@example.org> for the details.\n", "md",
                          quotes=["write to press@example.org for the details"])
    assert_anchored(root, result, 1, "write to press@example.org for the details")


def test_an_escaped_entity_stays_literal_text():
    """`&amp;nbsp;` is how Markdown writes the literal text "&nbsp;" (e.g. in an article about
    HTML). Restoring `&amp;` to `&` must not turn it into a real entity on output."""
    root, result = render("Write &amp;nbsp; to keep two words together, and &amp;lt; for <.\n", "md")
    text = root.text_content()
    assert "Write &nbsp; to keep" in text, text
    assert "and &lt; for" in text, text
    inline = RENDERER.inline("Type &amp;nbsp; here.")
    assert lxml.html.fragment_fromstring(inline.html, create_parent="div").text_content() == "Type &nbsp; here."


@pytest.mark.parametrize("fmt, article", [
    ("md", "Conan O\u2019Brien spoke first.\n"),
    ("txt", "Conan O\u2019Brien spoke first.\n"),
    ("md", "Then Conan\nO'Brien spoke first.\n"),
    ("txt", "Then Conan\nO'Brien spoke first.\n\nA second paragraph.\n"),
    ("md", "Then Conan&nbsp;O&rsquo;Brien spoke first.\n"),
    ("txt", "Then Conan\u00a0\u00a0O\u02bcBrien spoke first.\n"),
])
def test_mentions_match_any_apostrophe_and_any_white_space(fmt, article):
    root, result = render(article, fmt, actors=[("conan-obrien", ("Conan O'Brien",))])
    found = mentions(root)
    assert len(found) == 1, result.html
    assert found[0].get("data-actor") == "conan-obrien"
    assert fold(found[0].text_content()) == "Conan O'Brien"
    assert dict(result.mentions) == {"conan-obrien": 1}


@pytest.mark.parametrize("dash", ["\u2013", "\u2014", "\u2011", "\u2212", "-"])
def test_mentions_match_any_dash(dash):
    root, result = render(f"Jean{dash}Luc arrived late.\n", actors=[("jean-luc", ("Jean-Luc",))])
    assert [el.text_content() for el in mentions(root, "jean-luc")] == [f"Jean{dash}Luc"]


def test_mention_name_written_with_curly_marks_matches_straight_ones():
    root, result = render('Conan O\'Brien met Dwayne "The Rock" Johnson.\n',
                          actors=[("conan-obrien", ("Conan O\u2019Brien",)),
                                  ("dwayne-johnson", ("Dwayne \u201cThe Rock\u201d Johnson",))])
    assert dict(result.mentions) == {"conan-obrien": 1, "dwayne-johnson": 1}


def test_mention_does_not_match_without_the_mark_or_across_a_word():
    root, result = render("Conan OBrien and JeanLuc and Jean Luc.\n",
                          actors=[("conan-obrien", ("Conan O'Brien",)), ("jean-luc", ("Jean-Luc",))])
    assert mentions(root) == [] and dict(result.mentions) == {}


def test_footnote_mark_inside_a_quote_does_not_stop_it():
    text = '"We will win[^1] this fight." Then he left.\n\n[^1]: At the rally in May.\n'
    root, result = render(text, "md", quotes=["We will win this fight."])
    assert_anchored(root, result, 1, "We will win this fight.")
    assert marked_text(root, 1) == "We will win this fight."  # the footnote number is not quote text
    assert all("1" not in el.text_content() for el in marks(root, 1))
    ref = root.xpath(".//sup/a[@class='footnote-ref']")
    assert len(ref) == 1 and ref[0].text_content() == "1" and ref[0].get("href") == "#fn:1"
    assert not ref[0].xpath("ancestor::*[@data-quote]"), "the footnote mark was wrapped into the quote"
    assert root.xpath(".//li[@id='fn:1']")


def test_footnote_mark_inside_a_quote_in_a_build(tmp_path):
    files = {
        "rally/annotations.yaml": """
            title: Rally
            date: 2025-05-01
            summary: A rally.
            actors:
              - id: al-smith
                name: Al Smith
            quotes:
              - text: We will win this fight.
                speaker: al-smith
            """,
        "rally/article.md": """
            Al Smith said: "We will win[^1] this fight." Then he left.

            [^1]: At the rally in May.
            """,
    }
    stderr = build_ok(make_content(tmp_path, files), tmp_path / "out")
    assert "warning" not in stderr, stderr
    doc = briefing_page(tmp_path / "out", "rally")
    found = quote_marks(doc, 1)
    assert found and "".join(el.text_content() for el in found) == "We will win this fight."


# --- inline fields (summary, notes) ---------------------------------------------------------------


def test_inline_field_paragraphs_become_line_breaks():
    rendered = RENDERER.inline("First paragraph.\n\nSecond *paragraph*.")
    assert rendered.html == "First paragraph.<br>Second <em>paragraph</em>."
    assert rendered.flattened == ()


def test_inline_field_list_and_image_are_flattened_and_reported():
    rendered = RENDERER.inline("They meet ![a map of the harbour](map.png) at last.\n\n- fees\n- quays")
    assert rendered.flattened == ("a list", "an image")
    assert "<img" not in rendered.html and "<li" not in rendered.html and "<ul" not in rendered.html
    assert rendered.html == "They meet <span>a map of the harbour</span> at last.<br>fees quays"


SUMMARY_SITE = {
    "talks/annotations.yaml": """
        title: Harbour talks open
        date: 2025-08-14
        summary: |
          {summary}
        actors:
          - id: amara-voss
            name: Amara Voss
        quotes:
          - text: We came here to fix the quays
            speaker: amara-voss
        """,
    "talks/article.txt": """
        Amara Voss said: "We came here to fix the quays, not to win an argument."
        """,
}


def summary_site(tmp_path, summary: str):
    files = dict(SUMMARY_SITE)
    files["talks/annotations.yaml"] = textwrap.dedent(files["talks/annotations.yaml"]).replace(
        "{summary}", summary.replace("\n", "\n  "))
    return make_content(tmp_path, files)


def summary_paragraph(html: str, opening: str) -> str:
    """The raw markup of the page's summary paragraph: from `opening` to its `</p>`."""
    start = html.index(opening) + len(opening)
    return html[start:html.index("</p>", start)]


def test_two_paragraph_summary_is_one_paragraph_with_a_line_break(tmp_path):
    src = summary_site(tmp_path, "The two ministers meet.\n\nThey talk about *fees*.")
    stderr = build_ok(src, tmp_path / "out")
    assert "warning" not in stderr, stderr
    page = (tmp_path / "out" / "briefings" / "talks" / "index.html").read_text(encoding="utf-8")
    assert "<p>The two ministers meet.<br>They talk about <em>fees</em>.</p>" in page
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    inner = summary_paragraph(index, '<p class="summary">')
    assert inner == "The two ministers meet.<br>They talk about <em>fees</em>."
    assert "<p" not in inner  # no paragraph inside the paragraph


def test_two_paragraph_summary_keeps_a_space_in_the_plain_text(tmp_path):
    """The meta description and JSON-LD use the summary as plain text: a line break between two
    paragraphs must not glue the last word of one to the first of the next."""
    src = summary_site(tmp_path, "The two ministers meet.\n\nThey talk about *fees*.")
    build_ok(src, tmp_path / "out")
    doc = briefing_page(tmp_path / "out", "talks")
    assert doc.xpath("string(//meta[@name='description']/@content)") == \
        "The two ministers meet. They talk about fees."


def test_summary_with_a_list_and_an_image_warns_and_keeps_the_alt_text(tmp_path, capsys):
    src = summary_site(tmp_path, "The two ministers meet ![a map of the harbour](map.png) at last.\n\n- fees\n- quays")
    assert cli.main(["check", "--src", str(src)]) == 0
    err = capsys.readouterr().err
    assert err == (
        f"{src}/talks/annotations.yaml:3:10: warning: the summary is inline Markdown: a list and an image "
        "shown as plain text\n"
        "    summary: |\n"
        "             ^\n"
        "    hint: keep it to a few sentences; longer material belongs in the article\n")
    build_ok(src, tmp_path / "out")
    page = (tmp_path / "out" / "briefings" / "talks" / "index.html").read_text(encoding="utf-8")
    inner = summary_paragraph(page, "<p>The two ministers meet")
    assert "a map of the harbour" in inner
    assert "<img" not in inner and "<li" not in inner and "<ul" not in inner


def test_note_with_a_heading_warns_as_a_note(tmp_path, capsys):
    files = dict(SUMMARY_SITE)
    files["talks/annotations.yaml"] = files["talks/annotations.yaml"].replace(
        "{summary}", "The two ministers meet.").replace(
        "speaker: amara-voss", "speaker: amara-voss\n            note: \"# Heading\\n\\nText.\"")
    src = make_content(tmp_path, files)
    assert cli.main(["check", "--src", str(src)]) == 0
    err = capsys.readouterr().err
    assert ": warning: the note is inline Markdown: a heading shown as plain text\n" in err, err


# --- a long article: the closest passage of a quote that is not there -----------------------------

LONG_VOCABULARY_SEED = 20250709


def long_article(rng: random.Random, vocabulary: list[str], weights: list[float],
                 words: int = 20_000) -> list[str]:
    """Paragraphs of 120-200 words, about `words` in all."""
    paragraphs, total = [], 0
    while total < words:
        count = rng.randint(120, 200)
        paragraphs.append(" ".join(rng.choices(vocabulary, weights=weights, k=count)).capitalize() + ".")
        total += count
    return paragraphs


def check_long_article(tmp_path, capsys, vocabulary, weights, seed):
    """Write a ~20,000-word article.txt and a 60-word quote of it with its 31st word changed;
    return (exit status, stderr, the original 60 words)."""
    rng = random.Random(seed)
    paragraphs = long_article(rng, vocabulary, weights)
    assert 20_000 <= sum(len(p.split()) for p in paragraphs) < 20_300
    index = len(paragraphs) * 2 // 3
    words = paragraphs[index].rstrip(".").split()
    start = rng.randrange(1, len(words) - 60)
    original = words[start:start + 60]
    quote = list(original)
    quote[30] = "zeppelin"
    assert "zeppelin" not in vocabulary
    files = {
        "long/annotations.yaml": textwrap.dedent(f"""\
            title: A long article
            date: 2025-01-01
            summary: Long.
            actors:
              - id: al-smith
                name: Al Smith
            quotes:
              - text: "{' '.join(quote)}"
                speaker: al-smith
            """),
        "long/article.txt": "Al Smith spoke.\n\n" + "\n\n".join(paragraphs) + "\n",
    }
    src = make_content(tmp_path, files)
    status = cli.main(["check", "--src", str(src)])
    return status, capsys.readouterr().err, original, 3 + 2 * index


def closest_of(stderr: str) -> tuple[int, str]:
    match = re.search(r'closest passage \(.*/article\.txt:(\d+)\): "(.*)"\n', stderr)
    assert match, stderr
    return int(match.group(1)), match.group(2)


def test_quote_not_found_in_a_long_article_shows_the_passage_it_came_from(tmp_path, capsys):
    """About 20,000 words, a 60-word quote with one word changed: the closest passage is the one
    the quote was copied from (what matters here is the answer; timings are for bench/)."""
    rng = random.Random(LONG_VOCABULARY_SEED)
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "de", "po", "ga", "be"]
    vocabulary = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(3000)})
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]  # a few very common words, many rare
    status, stderr, original, line = check_long_article(tmp_path, capsys, vocabulary, weights, seed=3)
    assert status == 1
    assert ": error: quote 1 is not in the article\n" in stderr
    found_line, closest = closest_of(stderr)
    assert found_line == line
    assert " ".join(original[25:36]) in closest  # the changed word's neighbours, and the article's word
    assert " ".join(original[:5]) in closest and " ".join(original[-5:]) in closest
    assert "zeppelin" not in closest


def test_quote_not_found_in_a_long_repetitive_article_shows_the_passage_it_came_from(tmp_path, capsys):
    """The same with the small vocabulary of bench/corpus.py (about 40 words, like an article that
    keeps to one subject): nearly every window then holds nearly only the quote's words, so a
    ranking by shared words alone ties everywhere, and the closest passage must still be found."""
    from bench.corpus import WORDS

    vocabulary = sorted(set(WORDS))
    status, stderr, original, line = check_long_article(tmp_path, capsys, vocabulary, [1] * len(vocabulary),
                                                        seed=0)
    assert status == 1
    found_line, closest = closest_of(stderr)
    assert " ".join(original[25:36]) in closest, f"wanted line {line}, got line {found_line}: {closest}"
    assert found_line == line


def test_reading_a_blocks_runs_leaves_no_garbage_for_the_cyclic_collector():
    import gc
    import xml.etree.ElementTree as etree

    from briefkit.text.tree import runs

    block = etree.fromstring("<p>a <em>b <strong>c</strong></em> d<br/>e</p>")
    assert [run.text for run in runs(block)] == ["a ", "b ", "c", " d", "\n", "e"]
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()  # as while the model loads (reuse.collector_paused)
    try:
        for _ in range(100):
            runs(block)
        assert gc.collect() == 0
    finally:
        if enabled:
            gc.enable()
