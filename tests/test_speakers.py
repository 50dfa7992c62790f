"""Speaker sanity: exact warnings for an unnamed speaker and for one quote given to two speakers."""

from __future__ import annotations

import shutil

from conftest import EXAMPLE, make_content
from hypothesis import given
from hypothesis import strategies as st

from briefkit.cli import main

ANNOTATIONS = """
title: Talks
date: 2025-08-14
summary: Talks.
actors:
  - id: amara-voss
    name: Amara Voss
    aliases: [Voss]
  - id: teodor-lind
    name: Teodor Lind
    aliases: [the Karskian minister]
quotes:
{quotes}
"""


def briefing(slug: str, article: str, quotes: str) -> dict[str, str]:
    return {f"{slug}/annotations.yaml": ANNOTATIONS.format(quotes=quotes), f"{slug}/article.txt": article}


def check(tmp_path, monkeypatch, capsys, files: dict[str, str]) -> tuple[int, str]:
    make_content(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    status = main(["check", "--src", "content"])
    return status, capsys.readouterr().err


ARTICLE = """
Amara Voss and Teodor Lind met on Monday.

"We came here to fix the quays," she said.

The talks went on for hours.

"Karsk will not sign on trust alone," the Karskian minister said.

"The fees are too high," she added later.
"""


def test_a_speaker_named_in_the_paragraph_or_the_one_before_is_fine(tmp_path, monkeypatch, capsys):
    quotes = """
  - text: We came here to fix the quays
    speaker: amara-voss
  - text: Karsk will not sign on trust alone
    speaker: teodor-lind
"""
    status, err = check(tmp_path, monkeypatch, capsys, briefing("talks", ARTICLE, quotes))
    assert status == 0 and err == "", err


def test_a_speaker_named_nowhere_near_the_quote_is_a_warning(tmp_path, monkeypatch, capsys):
    quotes = """
  - text: The fees are too high
    speaker: amara-voss
  - text: We came here to fix the quays
    speaker: teodor-lind
"""
    status, err = check(tmp_path, monkeypatch, capsys, briefing("talks", ARTICLE, quotes))
    assert status == 0
    hint = ("    hint: fine if the article says 'she said' or the like; otherwise check the speaker, or add the "
            "name the article uses to the actor's aliases\n")
    assert err == (
        "content/talks/annotations.yaml:14:14: warning: quote 1's speaker 'amara-voss' (Amara Voss) is not "
        "named in the quote's paragraph or the one before it\n"
        "        speaker: amara-voss\n"
        "                 ^\n" + hint)  # quote 2: Lind is named in the paragraph before


def test_a_quote_given_to_two_speakers_in_two_briefings_is_a_warning(tmp_path, monkeypatch, capsys):
    article = 'Amara Voss and Teodor Lind met. "We came here to fix the quays," Voss said, and Lind agreed.\n'
    first = briefing("alpha", article, "  - text: We came here to fix the quays\n    speaker: amara-voss\n")
    second = briefing("beta", article.replace("quays,", "quays\u201d,"),
                      "  - text: \u201cwe came here to fix the quays\u201d\n    speaker: teodor-lind\n")
    status, err = check(tmp_path, monkeypatch, capsys, {**first, **second})
    assert status == 1  # quotes are case-sensitive: "we" is not in beta's article
    status, err = check(tmp_path, monkeypatch, capsys, {
        **first, **briefing("beta", article, "  - text: \u201cWe came here to fix the quays\u201d\n"
                                              "    speaker: teodor-lind\n")})
    assert status == 0
    assert err == (
        "content/beta/annotations.yaml:13:14: warning: quote 1 is attributed to 'teodor-lind' here but to "
        "'amara-voss' in content/alpha/annotations.yaml:12\n"
        "        speaker: teodor-lind\n"
        "                 ^\n"
        "    hint: one of the two attributions is probably wrong: check both articles\n")


def test_the_same_speaker_in_two_briefings_is_fine(tmp_path, monkeypatch, capsys):
    article = 'Amara Voss met Teodor Lind. "We came here to fix the quays," Voss said.\n'
    quotes = "  - text: We came here to fix the quays\n    speaker: amara-voss\n"
    status, err = check(tmp_path, monkeypatch, capsys,
                        {**briefing("alpha", article, quotes), **briefing("beta", article, quotes)})
    assert status == 0 and err == "", err


def test_the_example_site_has_no_speaker_warnings(tmp_path, monkeypatch, capsys):
    shutil.copytree(EXAMPLE, tmp_path / "briefings")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--strict"]) == 0
    captured = capsys.readouterr()
    assert "speaker" not in captured.err and ": 0 warnings, 0 errors" in captured.out


def test_the_blocks_are_the_paragraphs_quotes_are_matched_in():
    """The speaker check reads the rendered HTML; its blocks must be anchoring's paragraphs."""
    from briefkit.speakers import reading_blocks
    from briefkit.text.render import Renderer

    renderer = Renderer()
    for folder in sorted(p for p in EXAMPLE.iterdir() if p.is_dir()):
        article = next(folder.glob("article.*"))
        fmt = article.suffix[1:]
        html = renderer.article(article.read_text(encoding="utf-8"), fmt, (), ()).html
        assert len(reading_blocks(html)) == len(renderer.reading_paragraphs(article.read_text(encoding="utf-8"),
                                                                            fmt)), folder.name


def test_build_reports_both_warnings_on_a_cold_and_on_a_cached_run(tmp_path, monkeypatch, capsys):
    # The build checks briefings through its cache: the warnings must come from there too, and
    # again when the briefings come out of the cache unchecked.
    article = 'Teodor Lind spoke. "The fees are too high," Lind said.\n'
    files = {**briefing("alpha", article, "  - text: The fees are too high\n    speaker: teodor-lind\n"),
             **briefing("beta", ARTICLE, "  - text: The fees are too high\n    speaker: amara-voss\n")}
    make_content(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    outputs = []
    for command in (["build"], ["build", "--no-cache"], ["check"], ["check", "--no-cache"]):
        (tmp_path / "content" / "beta" / "article.txt").touch()  # no early exit: check the cache again
        assert main([*command, "--src", "content"]) == 0
        outputs.append(capsys.readouterr().err)
    assert [line for line in outputs[0].splitlines() if ": warning: quote" in line] == [
        "content/beta/annotations.yaml:13:14: warning: quote 1 is attributed to 'amara-voss' here but to "
        "'teodor-lind' in content/alpha/annotations.yaml:12",
        "content/beta/annotations.yaml:13:14: warning: quote 1's speaker 'amara-voss' (Amara Voss) is not "
        "named in the quote's paragraph or the one before it"]
    assert outputs[1:] == [outputs[0]] * 3


claim_sets = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]),
                             st.lists(st.tuples(st.sampled_from(["words one", "words two", "words three"]),
                                                st.sampled_from(["ada", "bob", "cyd"])), max_size=3), max_size=4)


@given(claim_sets, st.lists(claim_sets, max_size=4))
def test_conflicts_kept_between_builds_give_what_check_conflicts_gives(start, edits):
    """`speakers.Conflicts` (serve: the claims of the changed briefings replaced) reports exactly what
    `check_conflicts` of every claim in briefing order reports, as briefings' claims come and go."""
    from briefkit.diagnostics import WARNING, Diagnostic, Position, Report
    from briefkit.speakers import Claim, Conflicts, check_conflicts

    def claims(slug: str, pairs: list) -> list[Claim]:
        return [Claim(key, slug, speaker, Position(f"{slug}.yaml", number),
                      Diagnostic(f"{slug}.yaml", number, 1, WARNING, "speaker-conflict", str(number)))
                for number, (key, speaker) in enumerate(pairs, 1)]

    briefings = {slug: claims(slug, pairs) for slug, pairs in start.items()}
    kept = Conflicts()
    kept.update(set(), [], [c for slug in sorted(briefings) for c in briefings[slug]])
    for edit in edits:  # each: the briefings it names get these claims (an empty list: deleted)
        old = [c for slug in edit for c in briefings.get(slug, ())]
        for slug, pairs in edit.items():
            briefings[slug] = claims(slug, pairs)
        kept.update(set(edit), old, [c for slug in edit for c in briefings[slug]])
        cold = Report()
        check_conflicts([c for slug in sorted(briefings) for c in briefings[slug]], cold)
        assert sorted(kept.diagnostics(), key=lambda d: d.sort_key) == cold.sorted()
        assert len(kept.diagnostics()) == len(cold.items)
