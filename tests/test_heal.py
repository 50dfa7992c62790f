"""Anchors that heal: `check --fix` re-anchors copy-edited quotes and leaves orphans as errors.

tests/heal/copy-edit/ holds a content folder whose articles were copy-edited after the quotes
were written (a typo fixed, quote marks made curly, dashes changed, a word inserted, a
sentence rewritten, an elided quote whose second part changed) and, under expected/, the
exact annotations.yaml files and output `check --fix` must produce. Regenerate them with
BRIEFKIT_UPDATE_SNAPSHOTS=heal and read the diff before committing.
"""

from __future__ import annotations

import os
import shutil
import string
import subprocess
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from briefkit.cli import main
from briefkit.heal import MARGIN, THRESHOLD, fold_positions, former_place, heal_text, reading_paragraphs, rewrite
from briefkit.text.anchoring import quote_parts

HEAL = Path(__file__).resolve().parent / "heal"
CASE = HEAL / "copy-edit"
EXPECTED = CASE / "expected"
SLUGS = ("repairs", "talks")


def update_requested() -> bool:
    wanted = os.environ.get("BRIEFKIT_UPDATE_SNAPSHOTS", "")
    return wanted == "1" or "heal" in wanted.split(",")


def matches_snapshot(path: Path, actual: str) -> None:
    if update_requested():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="\n")
    assert actual == path.read_text(encoding="utf-8")


def run(tmp_path, monkeypatch, capsys, *args: str, case: Path = CASE) -> tuple[int, str, str]:
    if not (tmp_path / "content").exists():
        shutil.copytree(case / "content", tmp_path / "content")
    monkeypatch.chdir(tmp_path)
    status = main(["check", "--src", "content", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def annotations(root: Path, slug: str) -> bytes:
    return (root / "content" / slug / "annotations.yaml").read_bytes()


def test_fix_rewrites_the_copy_edited_quotes_byte_for_byte(tmp_path, monkeypatch, capsys):
    status, out, err = run(tmp_path, monkeypatch, capsys, "--fix")
    assert status == 1  # the rewritten sentence is an orphan
    for slug in SLUGS:
        matches_snapshot(EXPECTED / slug / "annotations.yaml", annotations(tmp_path, slug).decode())
    matches_snapshot(EXPECTED / "fix.stdout.txt", out)
    matches_snapshot(EXPECTED / "fix.stderr.txt", err)


def test_fix_keeps_comments_styles_and_every_other_line(tmp_path, monkeypatch, capsys):
    run(tmp_path, monkeypatch, capsys, "--fix")
    before = (CASE / "content" / "talks" / "annotations.yaml").read_text().splitlines()
    after = annotations(tmp_path, "talks").decode().splitlines()
    assert len(before) == len(after)
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert changed == [
        ('  - text: "The fees have nearly dobuled since 2019, and nothing was repaired"',
         '  - text: "The fees have nearly doubled since 2019, and nothing was repaired"'),
        ("  - text: The quays -- all four of them -- need repair before winter.  # as spoken",
         "  - text: The quays\u2014all four of them\u2014need repair before winter.        # as spoken"),
        ("      Port Ellery belongs to both our peoples, and so do its problems,",
         "      Port Ellery belongs to both our peoples, and so do its many"),
        ("      and we came here to fix the quays", "      problems, and we came here to fix the quays"),
    ]


def test_the_orphan_is_an_error_with_its_best_candidate(tmp_path, monkeypatch, capsys):
    _, _, err = run(tmp_path, monkeypatch, capsys, "--fix")
    assert err.startswith("content/talks/annotations.yaml:36:11: error: quote 5 is an orphan: it is not in "
                          "the article and --fix could not re-anchor it\n")
    assert 'hint: closest passage (content/talks/article.txt:3): "' in err
    assert f"not re-anchored: similarity 0.55 is below {THRESHOLD}; rewrite the quote by hand" in err
    assert err.endswith("check failed: 1 error, 0 warnings\n")


def test_check_without_fix_changes_nothing_and_shows_the_same_candidates(tmp_path, monkeypatch, capsys):
    status, out, err = run(tmp_path, monkeypatch, capsys)
    assert status == 1 and out == ""
    for slug in SLUGS:
        assert annotations(tmp_path, slug) == (CASE / "content" / slug / "annotations.yaml").read_bytes()
    matches_snapshot(EXPECTED / "check.stderr.txt", err)
    assert err.count("`check --fix` would rewrite the quote to it") == 4
    assert err.count(f"`check --fix` would not rewrite it: similarity 0.55 is below {THRESHOLD}") == 1


def test_fix_twice_changes_nothing_the_second_time(tmp_path, monkeypatch, capsys):
    run(tmp_path, monkeypatch, capsys, "--fix")
    first = {slug: annotations(tmp_path, slug) for slug in SLUGS}
    status, out, err = run(tmp_path, monkeypatch, capsys, "--fix")
    assert status == 1 and out == ""
    assert {slug: annotations(tmp_path, slug) for slug in SLUGS} == first
    assert err.count(": error: ") == 1


def test_a_file_ruamel_cannot_write_back_unchanged_is_left_alone(tmp_path, monkeypatch, capsys):
    case = HEAL / "unreadable"
    original = (case / "content" / "talks" / "annotations.yaml").read_bytes()
    assert rewrite(original.decode(), {0: "anything"}) is None
    status, out, err = run(tmp_path, monkeypatch, capsys, "--fix", case=case)
    assert status == 1 and out == ""
    assert annotations(tmp_path, "talks") == original
    assert err.startswith("content/talks/annotations.yaml:6:11: not rewritten: annotations.yaml could not be "
                          "rewritten without reformatting it\n")


def test_two_look_alike_passages_make_an_orphan():
    paragraphs = reading_paragraphs([
        "Voss said the harbour fees would be frozen until the spring.",
        "Lind said the harbour fees would be frozen until the summer.",
    ])
    healing = heal_text(paragraphs, "the harbour fees would be frozen until the autumn")
    assert healing.new is None
    assert healing.reason.startswith("another passage is almost as close")


def test_a_rewritten_short_quote_is_below_the_threshold():
    paragraphs = reading_paragraphs(["Ukraine is being hit very badly, he said."])
    healing = heal_text(paragraphs, "hit very hard")
    assert healing.new is None and healing.score < THRESHOLD
    assert healing.passage == "hit very badly"


def test_case_only_changes_heal_to_the_articles_capitals():
    paragraphs = reading_paragraphs(["She said: \u201cWe came here to fix the quays.\u201d"])
    assert heal_text(paragraphs, "we came here to fix the Quays.").new == "We came here to fix the quays."


def test_quote_marks_around_the_quote_are_kept():
    paragraphs = reading_paragraphs(["She said: \u201cWe came here to fix the quays.\u201d"])
    assert heal_text(paragraphs, "\u201cWe came here to fix the kuays.\u201d").new == \
        "\u201cWe came here to fix the quays.\u201d"


def test_fold_positions_keep_lines_within_the_width():
    text = "Port Ellery belongs to both our peoples, and so do its many problems, and we came here"
    folds = fold_positions(text, 30)
    lines = [text[a + 1:b] for a, b in zip([-1, *folds], [*folds, len(text)])]
    assert " ".join(lines) == text
    assert all(len(line) <= 30 for line in lines)
    # Greedy: no line could have taken the next line's first word.
    assert all(len(line) + 1 + len(after.split()[0]) > 30 for line, after in zip(lines, lines[1:]))


WORDS = sorted({a + b + c for a in "bdgklmprstv" for b in "aeiou" for c in ("n", "r", "s", "")})


@given(st.data())
def test_a_one_letter_typo_heals_back_to_the_article(data):
    """A quote of 6+ words copied from an article of distinct words, one letter changed, heals back
    to exactly the article's words (the margin and threshold hold for every such typo)."""
    words = data.draw(st.lists(st.sampled_from(WORDS), min_size=12, max_size=40, unique=True))
    start = data.draw(st.integers(0, len(words) - 6))
    length = data.draw(st.integers(6, len(words) - start))
    quote = " ".join(words[start:start + length])
    at = data.draw(st.integers(0, len(quote) - 1).filter(lambda i: quote[i] != " "))
    letter = data.draw(st.sampled_from(string.ascii_lowercase).filter(lambda c: c != quote[at]))
    typo = quote[:at] + letter + quote[at + 1:]
    paragraphs = reading_paragraphs([" ".join(words[:len(words) // 2]) + ".",
                                     " ".join(words[len(words) // 2:]) + "."])
    if not any(quote in p.raw for p in paragraphs):  # the quote crosses the paragraph break
        return
    healing = heal_text(paragraphs, typo)
    assert healing.new == quote, (healing, MARGIN)


LOOK_ALIKES = ["Voss said the harbour fees will be held until the spring, and then cut.",
               "Lind said the harbour fees will be fixed until the spring, and then cut."]


def test_the_former_place_tells_look_alike_passages_apart():
    """Two passages are equally close to the quote: without history it is an orphan; with the
    quote's place in the last committed article (prefix, suffix, position) it heals there."""
    quote = "the harbour fees will be frozen until the spring"
    paragraphs = reading_paragraphs(LOOK_ALIKES)
    assert heal_text(paragraphs, quote).reason.startswith("another passage is almost as close")
    before = reading_paragraphs([LOOK_ALIKES[0].replace("held", "set"), LOOK_ALIKES[1].replace("fixed", "frozen")])
    former = former_place(before, quote_parts(quote), None)
    assert former.prefix == "lind said " and former.suffix == ", and then cut."
    assert heal_text(paragraphs, quote, former=former).new == "the harbour fees will be fixed until the spring"


def test_fix_reads_the_former_place_from_git(tmp_path, monkeypatch, capsys):
    git_env = {"GIT_AUTHOR_NAME": "E", "GIT_AUTHOR_EMAIL": "e@example.org", "GIT_COMMITTER_NAME": "E",
               "GIT_COMMITTER_EMAIL": "e@example.org", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for key, value in git_env.items():
        monkeypatch.setenv(key, value)
    talks = tmp_path / "content" / "talks"
    talks.mkdir(parents=True)
    (talks / "annotations.yaml").write_text(
        "title: Talks\ndate: 2025-08-14\nsummary: Talks.\nactors:\n  - id: teodor-lind\n    name: Teodor Lind\n"
        "    aliases: [Lind]\n  - id: amara-voss\n    name: Amara Voss\n    aliases: [Voss]\nquotes:\n"
        "  - text: the harbour fees will be frozen until the spring\n    speaker: teodor-lind\n")
    article = talks / "article.txt"
    article.write_text(LOOK_ALIKES[0].replace("held", "set") + "\n\n" + LOOK_ALIKES[1].replace("fixed", "frozen"))
    for command in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "Talks"]):
        subprocess.run(["git", *command], cwd=tmp_path, check=True, capture_output=True)
    article.write_text("\n\n".join(LOOK_ALIKES) + "\n")
    status, out, err = run(tmp_path, monkeypatch, capsys, "--fix")
    assert (status, err.splitlines()[-1:]) == (0, [])
    assert "+  - text: the harbour fees will be fixed until the spring\n" in out
