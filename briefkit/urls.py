"""Where each page lives in the output, and relative links between pages."""

from __future__ import annotations

import posixpath

INDEX = "index.html"


def briefing_page(slug: str) -> str:
    return f"briefings/{slug}/{INDEX}"


def actor_page(actor_id: str) -> str:
    return f"actors/{actor_id}/{INDEX}"


def tag_page(tag: str) -> str:
    return f"tags/{tag}/{INDEX}"


def root_of(page: str) -> str:
    """The relative prefix from `page` back to the site root ('' at the top)."""
    return "../" * page.count("/")


def relative(from_page: str, to_page: str) -> str:
    """A relative link from one output file to another (links name index.html, so file:// works)."""
    return posixpath.relpath(to_page, posixpath.dirname(from_page) or ".")


def pretty(page: str) -> str:
    """The public URL path of a page: directory form, as servers show it."""
    return page[: -len(INDEX)] if page.endswith(INDEX) else page
