"""Paged listings: the index, each tag's and each actor's briefings, `page_size` to a page.

Page 1 keeps the listing's own path (`tags/x/index.html`); page N is `page/N/index.html`
below it (`tags/x/page/2/index.html`, `page/2/index.html` for the index), so no page grows
with the archive and the first page's URL never changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, TypeVar

from .urls import INDEX

T = TypeVar("T")


@dataclass(frozen=True)
class Pager:
    """Where a page is in its listing; prev/next are page paths from the site root, or None."""

    number: int
    pages: int
    total: int   # items in the whole listing
    offset: int  # items on the pages before this one
    prev: str | None
    next: str | None


def page_path(first: str, number: int) -> str:
    """The path of page `number` of the listing whose first page is `first` (…/index.html)."""
    if number == 1:
        return first
    return f"{first[: -len(INDEX)]}page/{number}/{INDEX}"


def paginate(first: str, items: Sequence[T], size: int) -> list[tuple[str, tuple[T, ...], Pager]]:
    """The pages of a listing: (path, the items on it, its pager); one page when it is empty."""
    pages = max(1, -(-len(items) // size))
    return [(page_path(first, n), tuple(items[(n - 1) * size: n * size]),
             Pager(n, pages, len(items), (n - 1) * size, page_path(first, n - 1) if n > 1 else None,
                   page_path(first, n + 1) if n < pages else None))
            for n in range(1, pages + 1)]


def paginate_from_end(first: str, items: Sequence[T], size: int) -> list[tuple[str, tuple[T, ...], Pager]]:
    """`paginate` for a listing read in order but opened at its end (the timeline): page 1 holds
    the last `size` items, page 2 the `size` before them, each page in the listing's order."""
    pages = max(1, -(-len(items) // size))
    out = []
    for n in range(1, pages + 1):
        end = len(items) - (n - 1) * size
        out.append((page_path(first, n), tuple(items[max(0, end - size): end]),
                    Pager(n, pages, len(items), (n - 1) * size, page_path(first, n - 1) if n > 1 else None,
                          page_path(first, n + 1) if n < pages else None)))
    return out


def page_title(title: str, pager: Pager) -> str:
    return title if pager.number == 1 else f"{title} (page {pager.number} of {pager.pages})"
