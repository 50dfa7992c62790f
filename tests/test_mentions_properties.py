"""Marking mentions with one cached pattern per name finds exactly what one alternation of all
the names finds (the way the pattern was built before: longest name first)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from briefkit.text.mentions import ActorSpec, find_mentions, mention_pattern

# A tiny alphabet, so names overlap, repeat and touch each other in the text.
words = st.sampled_from(["a", "b", "ab", "a'b", "a-b"])
names = st.lists(st.lists(words, min_size=1, max_size=3).map(" ".join), min_size=1, max_size=5)
pieces = st.sampled_from(["a", "b", " ", "\u2019", "'", "-", "\u2013", "x", "\n", "a b", "a\u2019b"])


@given(names, st.lists(pieces, max_size=30).map("".join))
def test_find_mentions_matches_the_single_alternation(found_names, text):
    spec = ActorSpec("someone", tuple(found_names), "#")
    pattern, owner = mention_pattern((spec,))
    ordered = sorted(owner, key=lambda n: (-len(n), n))
    expected = [(m.start(), m.end()) for m in pattern.finditer(text)]
    assert [(m.start(), m.end()) for m in find_mentions(text, ordered)] == expected


def test_find_mentions_takes_the_leftmost_then_the_longer_name():
    text = "Mr Jean Dupont met Jean and Dupont."
    ordered = ["Jean Dupont", "Dupont", "Jean"]
    assert [m.group(0) for m in find_mentions(text, ordered)] == ["Jean Dupont", "Jean", "Dupont"]
