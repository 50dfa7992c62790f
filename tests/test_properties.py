"""Property tests (Hypothesis) for the loader, the validator and the anchoring.

1. Whatever is written into annotations.yaml, actors.yaml, site.yaml or an article (any text,
   any bytes, YAML built from the schema's keys and the usual typing traps, Markdown built from
   its special characters), loading and validating yields diagnostics with a position, never an
   exception.
2. Any passage cut on word boundaries from any article (plain text, or Markdown with emphasis
   and links around words), and quoted in any form that folds the same (other quote marks,
   dashes, white space, NFC/NFD, zero-width characters), is anchored at the place it was cut
   from: the marked text is the article's own text of that passage.

The profile in conftest.py runs 1,000 examples each with CI=true, 150 locally.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
import unicodedata
import xml.etree.ElementTree as etree
from pathlib import Path

import lxml.html
import pytest
from hypothesis import HealthCheck, assume, example, given, settings, strategies as st

from briefkit.diagnostics import Report
from briefkit.loader import load_content
from briefkit.schema import ANNOTATIONS, BRIEFING_ACTOR, CONTEXT_LINK, EVENT, QUOTE, REGISTRY_ACTOR, SITE, SOURCE
from briefkit.text.anchoring import QuoteSpec, quote_parts
from briefkit.text.folding import DASHES, DOUBLE_QUOTES, SINGLE_QUOTES, fold, fold_with_map, joins_previous
from briefkit.text.render import Renderer
from briefkit.text.tree import insert, pieces, runs, wrap
from briefkit.validation import Options, build_model

# --- 1. any input gives diagnostics ---------------------------------------------------------------

BASE = {
    "site.yaml": "title: Briefings\nlanguage: en\nbase_url: https://example.org/\n",
    "actors.yaml": "amara-voss:\n  name: Amara Voss\n  kind: person\n  aliases: [Voss]\n",
    "talks/annotations.yaml": (
        "title: Harbour talks open\ndate: 2025-08-14\nsummary: The two *ministers* meet.\ntags: [harbours]\n"
        "actors:\n  - id: amara-voss\n    role: Minister\n  - id: teodor-lind\n    name: Teodor Lind\n"
        "quotes:\n  - text: We came here to fix the quays\n    speaker: amara-voss\n    to: teodor-lind\n"
        "context:\n  - title: Fees\n    url: https://example.org/fees\n"
        "timeline:\n  - date: 2025-08-14\n    text: Talks open.\n"),
    "talks/article.md": ("Amara Voss met Teodor Lind on Monday.\n\n"
                         '"We came here to fix the quays," Voss said. ![map](map.png)\n'),
    "notes/annotations.yaml": "title: Notes\ndate: 2025-08-15\nsummary: Notes.\n",
    "notes/article.txt": "Plain notes.\n",
    "talks/map.png": "\x89PNG",
}
TARGETS = sorted(name for name in BASE if not name.endswith(".png"))
FILES = frozenset(f"content/{name}" for name in BASE) | {"content/talks/", "content/notes/"}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """The base content in one folder reused by every example, and a renderer (a fresh folder and
    renderer for each example would be slow)."""
    # In memory where there is a tmpfs: thousands of small writes and reads on a busy disk add up.
    shm = Path("/dev/shm")
    parent = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() and os.access(shm, os.W_OK) \
        else tmp_path_factory.mktemp("fuzz")
    src = parent / "content"
    for name, text in BASE.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(text.encode("utf-8"))
    yield src, Renderer()  # one renderer: its Markdown converters are reset for every article
    shutil.rmtree(parent, ignore_errors=True)


def load_and_validate(workspace: tuple[Path, Renderer], target: str, data: bytes) -> list:
    """Load and validate the base content with `target` replaced by `data` (then put back)."""
    src, renderer = workspace
    if target:
        (src / target).write_bytes(data)
    try:
        report = Report()
        raw = load_content(src, "content", report)
        build_model(raw, Options(), report, renderer=renderer)
    finally:
        if target:
            (src / target).write_bytes(BASE[target].encode("utf-8"))
    diagnostics = report.sorted()
    for d in diagnostics:
        assert d.path in FILES, d
        assert d.line >= 1 and d.column >= 1, d
        assert d.severity in ("error", "warning") and d.message, d
        d.format()
        d.to_json()
        d.to_github()
    return diagnostics


SCHEMA_KEYS = sorted({key for record in (ANNOTATIONS, SITE, REGISTRY_ACTOR, BRIEFING_ACTOR, QUOTE, CONTEXT_LINK,
                                         EVENT, SOURCE) for key in record.keys}
                     | {"amara-voss", "teodor-lind", "quote", "Title", "<<", "x-extra", "1", "null"})
TRAPS = ["NO", "yes", "on", "off", "y", "0755", "0o17", "0x1F", "1_000", "3.10", "1:30", "-1", "0", ".inf", "-.nan",
         "~", "null", "", "2025-07-09", "2025-02-30", "2025-07-09T10:00:00Z", "20250709", "amara-voss",
         "teodor-lind", "harbours", "Voss", "We came here to fix the quays", "https://example.org/x",
         "javascript:alert(1)", "http://", "http://[", "//example.org", "en", "ar", "Q42", "person", "background",
         "!!binary aGVsbG8=", "!!python/object/apply:os.system ['true']", "!!str 12", "!!int x", "!!map",
         "&anchor value", "*anchor", "'unclosed", '"unclosed', "[", "]", "{", "}", "|", ">", "- item", "? key",
         "#comment", "@at", "`tick", "%YAML 1.1", "---", "...", "a: b", "a #b", "\t", "\u202e", "\u200b", "\ufeff",
         "\u00a0", "caf\u00e9", "cafe\u0301", "\U0001f600", "[...]", "**bold** [x](javascript:y)", "<script>"]

scalars = st.tuples(st.sampled_from(["plain", "json", "single"]),
                    st.one_of(st.sampled_from(TRAPS), st.text(max_size=12), st.integers().map(str)))


def nodes(children):
    return st.one_of(
        st.tuples(st.just("list"), st.booleans(), st.lists(children, max_size=3)),
        st.tuples(st.just("map"), st.booleans(),
                  st.lists(st.tuples(st.one_of(st.sampled_from(SCHEMA_KEYS), scalars), children), max_size=4)))


yaml_values = st.recursive(scalars, nodes, max_leaves=8)


def scalar_text(style: str, text: str) -> str:
    if style == "json":
        return json.dumps(text, ensure_ascii=False)
    if style == "single":
        return "'" + text.replace("'", "''") + "'"
    return text


def key_text(key) -> str:
    return key if isinstance(key, str) else scalar_text(*key)


def to_yaml(value, indent: int = 0) -> str:
    """YAML text for a generated value: block or flow style, scalars written raw or quoted."""
    pad = " " * indent
    if value[0] == "list":
        _, flow, items = value
        if flow or not items:
            return "[" + ", ".join(to_yaml(item).strip() for item in items) + "]"
        return "\n" + "".join(f"{pad}- {to_yaml(item, indent + 2).lstrip()}\n" for item in items).rstrip("\n")
    if value[0] == "map":
        _, flow, pairs = value
        if flow or not pairs:
            return "{" + ", ".join(f"{key_text(k)}: {to_yaml(v).strip()}" for k, v in pairs) + "}"
        return "\n" + "".join(f"{pad}{key_text(k)}: {to_yaml(v, indent + 2)}\n" for k, v in pairs).rstrip("\n")
    return scalar_text(value[0], value[1])


yaml_documents = st.lists(st.tuples(st.sampled_from(SCHEMA_KEYS), yaml_values), max_size=6).map(
    lambda pairs: "".join(f"{k}: {to_yaml(v, 2)}\n" for k, v in pairs))

MARKDOWN_TOKENS = ["[", "]", "(", ")", "![", "*", "**", "_", "`", "```", "~~~", ">", "> ", "- ", "* ", "1. ", "# ",
                   "\n", "\n\n", "    ", "\t", "<script>alert(1)</script>", "<b>", "&amp;", "&#0;", "&#x202e;",
                   "&nbsp;", "&bogus;", "[^1]", "[^1]: note", "|", "|-|", "| a | b |", "http://x.org", "<http://x>",
                   "<a@b.c>", "javascript:", "[a]: /b", "[a]", "\\", "Amara Voss", "Voss", "Teodor Lind",
                   "We came here to fix the quays", "...", "\u2026", "\u202e", "\u2067", "\u200b", "\u00ad",
                   "\u00a0", "\r", "\r\n", "\ufeff", "word", "caf\u00e9", "\u05e9\u05dc\u05d5\u05dd", "  \n", "---",
                   "===", "![map](map.png)", "![x](../../etc/passwd)", "[x](data:text/html,hi)",
                   "![x](", "](", "http://[", "//[", "<//[>", "%2e%2e/", "\\..\\"]
markdown_documents = st.lists(st.one_of(st.sampled_from(MARKDOWN_TOKENS), st.text(max_size=6)),
                              max_size=60).map("".join)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(target=st.sampled_from(TARGETS),
       data=st.one_of(st.text().map(lambda t: t.encode("utf-8")), st.binary()))
def test_any_text_or_bytes_in_any_file_gives_diagnostics(workspace, target, data):
    load_and_validate(workspace, target, data)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(target=st.sampled_from([t for t in TARGETS if t.endswith(".yaml")]), text=yaml_documents)
def test_yaml_shaped_input_gives_diagnostics(workspace, target, text):
    load_and_validate(workspace, target, text.encode("utf-8"))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(target=st.sampled_from(["talks/article.md", "notes/article.txt"]), text=markdown_documents)
@example(target="talks/article.md", text="![x](http://[) ![y](//[)")  # urlsplit raised ValueError
def test_markdown_shaped_article_gives_diagnostics(workspace, target, text):
    load_and_validate(workspace, target, text.encode("utf-8"))


def test_the_base_content_is_valid(workspace):
    """The fuzzed files replace parts of a valid site, so every problem comes from the input."""
    assert load_and_validate(workspace, "", b"") == []


# --- 2. any passage is anchored where it was cut from -----------------------------------------------

WORDS = ["the", "talks", "quays", "Voss", "don't", "it\u2019s", "rock\u2019n\u2019roll", "caf\u00e9",
         "cafe\u0301", "na\u00efve", "\u00c5ngstr\u00f6m", "\ufb01nance", "\u00bd", "\u6771\u4eac",
         "\ud55c\uad6d\uc5b4", "\u1112\u1161\u11ab", "\u041f\u0440\u0438\u0432\u0435\u0442",
         "\u0645\u0631\u062d\u0628\u0627", "\u05e9\u05dc\u05d5\u05dd", "\u0915\u094b", "\u0b95\u0bca",
         "well-known", "2025", "\U0001f600", "x\u200by", "e.g.", "U.S.", "A&B", "<b>", "50%", "#1", "*", "_"]
PUNCTUATION = ["", "", "", ",", ".", ";", ":", "!", "?", "\u2026", "...", ")", "\u201d", "\"", "'", "\u00bb"]
OPENERS = ["", "", "", "", "\u201c", "\"", "'", "\u00ab", "(", "\u2018"]
SEPARATORS = [" ", " ", " ", "  ", "\u00a0", "\n", " \u2014 ", " - ", " \u2013 ", "\u2014", "\t", " \u200b"]

MARKUP = ["", "", "", "*", "**", "link"]  # how article.md wraps a word; the reader sees the word
# Words that Markdown would read as markup at the start of a paragraph, or are markup themselves.
NOT_IN_MARKDOWN = {"*", "_", "#1", "2025", "\u00bd"}


def tokens(markdown: bool):
    words = [w for w in WORDS if w not in NOT_IN_MARKDOWN] if markdown else WORDS
    return st.tuples(st.sampled_from(OPENERS), st.sampled_from(words), st.sampled_from(PUNCTUATION),
                     st.sampled_from(MARKUP if markdown else [""]))


def separators(markdown: bool):
    # Python-Markdown expands tabs, and a line may start a list: no tabs or newlines in article.md.
    return st.sampled_from([s for s in SEPARATORS if not (markdown and s in ("\n", "\t"))])


def paragraph_words(markdown: bool):
    return st.lists(st.tuples(tokens(markdown), separators(markdown)), min_size=1, max_size=25)


def reader_text(token) -> str:
    opener, word, punctuation, _ = token
    return opener + word + punctuation


def source_text(token) -> str:
    opener, word, punctuation, markup = token
    if markup == "link":
        return f"{opener}[{word}](https://example.org/){punctuation}"
    return opener + markup + word + markup + punctuation


QUOTE_LIKE = {ch: sorted(DOUBLE_QUOTES) for ch in DOUBLE_QUOTES} | {ch: sorted(SINGLE_QUOTES) for ch in SINGLE_QUOTES}
DASH_LIKE = {ch: sorted(DASHES) for ch in DASHES}
SPACES = [" ", "\u00a0", "\n", "  ", "\t", "\u2009", " \n "]


def variant(draw, passage: str) -> str:
    """The passage written another way that folds the same."""
    out = []
    for ch in passage:
        if ch in QUOTE_LIKE or ch in DASH_LIKE:
            out.append(draw(st.sampled_from((QUOTE_LIKE | DASH_LIKE)[ch])))
        elif ch.isspace():
            out.append(draw(st.sampled_from(SPACES)))
        elif not joins_previous(ch) and draw(st.integers(0, 19)) == 0:  # not inside a letter
            out.append(draw(st.sampled_from(["\u200b", "\u00ad", "\u2060"])) + ch)
        else:
            out.append(ch)
    text = "".join(out)
    text = draw(st.sampled_from([text, text.replace("\u2026", "..."), text.replace("...", "\u2026")]))
    return unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"])), text) \
        if draw(st.booleans()) else text


def edges_stripped(raw: str, start: int, end: int) -> tuple[int, int]:
    """The span without the quote marks, spaces and invisible characters a quote's ends ignore."""
    def ignored(ch: str) -> bool:
        return ch.isspace() or fold(ch) in ("", '"', "'", " ")
    while start < end and ignored(raw[start]):
        start += 1
    while end > start and ignored(raw[end - 1]):
        end -= 1
    return start, end


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(fmt=st.sampled_from(["txt", "md"]), choice=st.data())
def test_any_passage_is_anchored_where_it_was_cut(fmt, choice):
    paragraphs = choice.draw(st.lists(paragraph_words(fmt == "md"), min_size=1, max_size=4), label="article")
    # What the reader sees (quotes are cut from it), and what the author wrote.
    texts = ["".join(reader_text(token) + sep for token, sep in words[:-1]) + reader_text(words[-1][0])
             for words in paragraphs]
    sources = ["".join(source_text(token) + sep for token, sep in words[:-1]) + source_text(words[-1][0])
               for words in paragraphs]
    article = "\n\n".join(sources + ["The end."])  # a blank line: paragraphs are separated by blank lines
    index = choice.draw(st.integers(0, len(paragraphs) - 1), label="paragraph")
    words = paragraphs[index]
    first = choice.draw(st.integers(0, len(words) - 1), label="first word")
    last = choice.draw(st.integers(first, len(words) - 1), label="last word")
    raw = texts[index]
    start = sum(len(reader_text(t)) + len(s) for t, s in words[:first])
    end = start + sum(len(reader_text(t)) + len(s) for t, s in words[first:last]) + len(reader_text(words[last][0]))
    start, end = edges_stripped(raw, start, end)
    passage = raw[start:end]
    quote = variant(choice.draw, passage)
    parts = quote_parts(quote)
    assume(len(parts) == 1)  # not only quote marks, and no [...] in it
    assert parts[0] == fold(passage).strip("\"' "), "the variant folds like the passage"

    # Which match is ours: matches in earlier paragraphs, then in this one up to our span.
    occurrence = 0
    for number, text in enumerate(texts[: index + 1]):
        folded = fold_with_map(text.strip())
        offset = len(text) - len(text.lstrip())
        at = folded.text.find(parts[0])
        while at != -1:
            occurrence += 1
            span = folded.raw_span(at, at + len(parts[0]))
            if number == index and (span[0] + offset, span[1] + offset) == (start, end):
                break
            at = folded.text.find(parts[0], at + 1)
        else:
            assert number < index, f"the passage {passage!r} is not found where it was cut"
            continue
        break

    rendered = Renderer().article(article, fmt, (QuoteSpec(1, "1", parts, occurrence),), ())
    fragment = lxml.html.fragment_fromstring(rendered.html, create_parent="div")
    for ref in fragment.xpath(".//a[@class='quote-ref']"):  # the ↗ added after a quote inside a link
        ref.drop_tree()
    shown = [p.text_content() for p in fragment.iter("p")]
    assert shown[:-1] == [text.strip() for text in texts], "the reader sees the words as generated"
    result = rendered.quotes[0]
    assert result.anchored and result.matches >= occurrence
    marks = fragment.xpath(".//*[@data-quote='1']")
    assert "".join(mark.text_content() for mark in marks) == passage
    assert marks[0].xpath("ancestor::p")[0].text_content() == raw.strip()


# --- 3. wrapping several ranges at once is wrapping them one at a time ---------------------------

@st.composite
def block_trees(draw) -> etree.Element:
    """A paragraph of text with inline elements (nested a little) and line breaks."""
    words = st.text("ab ", min_size=0, max_size=6)

    def children(depth: int) -> list[etree.Element]:
        made = []
        for _ in range(draw(st.integers(0, 3 if depth < 2 else 0))):
            child = etree.Element(draw(st.sampled_from(["em", "a", "code", "br"])))
            if child.tag != "br":
                child.text = draw(words) or None
                child.extend(children(depth + 1))
            child.tail = draw(words) or None
            made.append(child)
        return made

    block = etree.Element("p")
    block.text = draw(words) or None
    block.extend(children(0))
    return block


def mark(chain):
    element = etree.Element("mark", {"inside": str(len(chain))})
    return element, element


@given(block_trees(), st.data())
def test_inserting_all_pieces_at_once_is_wrapping_one_range_at_a_time(block, data):
    length = sum(len(run.text) for run in runs(block))
    cuts = sorted(data.draw(st.lists(st.integers(0, length), max_size=8)))
    ranges = [(a, b) for a, b in zip(cuts[::2], cuts[1::2]) if a < b]
    one_by_one = copy.deepcopy(block)
    for start, end in ranges:
        wrap(one_by_one, start, end, mark)
    block_runs = runs(block)
    insert(block_runs, [(index, a, b, *mark(list(block_runs[index].chain)))
                        for start, end in ranges for index, a, b in pieces(block_runs, start, end)])
    assert etree.tostring(block, encoding="unicode") == etree.tostring(one_by_one, encoding="unicode")
