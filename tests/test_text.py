"""Folding, quote anchoring, actor mentions and article rendering (contract sections 1 and 4)."""

from __future__ import annotations

import random
import re
import textwrap

import lxml.html
import pytest

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
