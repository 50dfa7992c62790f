"""The README documents the format the validator enforces: every key of the schema is named."""

from pathlib import Path

import pytest

from briefkit.schema import ACTORS, ANNOTATIONS, SITE, ListOf, Record

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def keys_of(record: Record, prefix: str = "") -> list[str]:
    found = []
    for name, key in record.keys.items():
        found.append(name)
        inner = key.type.item if isinstance(key.type, ListOf) else key.type
        if isinstance(inner, Record):
            found.extend(keys_of(inner))
    return found


@pytest.mark.parametrize("key", sorted(set(keys_of(ANNOTATIONS) + keys_of(ACTORS.value) + keys_of(SITE))))
def test_every_schema_key_is_documented(key):
    assert f"`{key}`" in README, f"README does not document the key {key!r}"


def test_quick_start_is_the_two_make_commands():
    quick_start = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make site" in quick_start and "make test" in quick_start
