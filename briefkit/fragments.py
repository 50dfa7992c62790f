"""Links to a quote's passage in the original article: URL text fragments (WICG Text Fragments).

`https://example.org/story#:~:text=said%2C%20%E2%80%9C-,We%20will,year.,-she%20added`: the
browser scrolls to and highlights the first passage that matches `start` (or runs from `start`
to `end`), preceded by `prefix` and followed by `suffix` with only white space between. The
passage and its context come from the article's rendered text (the model's article HTML), so
they are the words of the original as the briefing copies them; the context stays inside the
quote's paragraph and is at most a few words long.
"""

from __future__ import annotations

import re
from urllib.parse import quote as percent_encode

from .textcontent import ArticleText

# Characters a text directive may carry as they are (TextDirectiveExplicitChar, besides letters
# and digits); `-`, `,` and `&` are syntax there and so must be percent-encoded.
EXPLICIT = "!$'()*+./:;=?@_~"
CONTEXT_WORDS = 2          # words of context on each side (fewer at a paragraph's edge)
WORD = re.compile(r"\S+")
ALNUM = re.compile(r"\w")


def encode(value: str) -> str:
    """Percent-encode one text-directive value (UTF-8; `-` `,` `&` and non-ASCII encoded)."""
    return percent_encode(value, safe=EXPLICIT).replace("-", "%2D")


def tail_words(text: str, count: int = CONTEXT_WORDS) -> str:
    """The end of `text`: its last `count` words that have a letter or digit, with any punctuation
    tokens after them (a quote mark right before the quote), as written; "" when it has no such word
    (punctuation alone adds nothing to find the passage by)."""
    tokens = list(WORD.finditer(text))
    seen = 0
    start = len(text)
    for token in reversed(tokens):
        start = token.start()
        if ALNUM.search(token.group()):
            seen += 1
            if seen == count:
                break
    return text[start:].strip() if seen else ""


def head_words(text: str, count: int = CONTEXT_WORDS) -> str:
    """The start of `text`: its first `count` words that have a letter or digit, with any punctuation
    tokens before them (a closing quote mark, a comma), as written; "" when it has no such word."""
    tokens = list(WORD.finditer(text))
    seen = 0
    end = 0
    for token in tokens:
        end = token.end()
        if ALNUM.search(token.group()):
            seen += 1
            if seen == count:
                break
    return text[:end].strip() if seen else ""


def text_directive(article: ArticleText, number: int) -> str | None:
    """`text=[prefix-,]start[,end][,-suffix]` for quote `number`, or None when it is not marked."""
    parts = article.quote_parts(number)
    if not parts:
        return None
    start, end = parts[0][0], parts[-1][1]
    lo, hi = article.block_around(start, end)
    text = article.text
    prefix = tail_words(text[lo:start])
    suffix = head_words(text[end:hi])
    if len(parts) == 1:
        values = [encode(" ".join(text[start:end].split()))]
    else:  # an elided quote: from its first part to its last
        values = [encode(" ".join(text[s:e].split())) for s, e in (parts[0], parts[-1])]
    if prefix:
        values.insert(0, encode(" ".join(prefix.split())) + "-")
    if suffix:
        values.append("-" + encode(" ".join(suffix.split())))
    return "text=" + ",".join(values)


def passage_url(url: str, article: ArticleText, number: int) -> str | None:
    """The source URL with a text fragment that points at quote `number`'s passage."""
    directive = text_directive(article, number)
    if directive is None:
        return None
    base, hash_, fragment = url.partition("#")
    fragment = fragment.split(":~:", 1)[0]   # an author's own directive would fight ours
    return f"{base}#{fragment}:~:{directive}" if hash_ else f"{base}#:~:{directive}"
