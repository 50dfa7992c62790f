"""JSON Schemas for editors, generated from the validator's own definitions (briefkit.schema).

One source of truth: each schema type maps to its JSON Schema counterpart here, and
`python -m briefkit.jsonschema` (or `make schemas`) rewrites schemas/*.schema.json.
A test fails when the committed files differ from what this module generates.

YAML is read as YAML 1.2 by editors and check-jsonschema, with dates kept as strings,
so a date is a string of the form YYYY-MM-DD (format: date).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .schema import (ACTORS, ANNOTATIONS, DATE_RE, SITE, Bool, Date, Enum, ListOf, MapOf, PositiveInt,
                     Record, Restricted, Text, Type)

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"

# Which file each schema describes: (schema file name, type, title).
FILES = {
    "annotations.schema.json": (ANNOTATIONS, "Briefkit annotations.yaml"),
    "actors.schema.json": (ACTORS, "Briefkit actors.yaml (the site-wide actor registry)"),
    "site.schema.json": (SITE, "Briefkit site.yaml"),
}

NOT_BLANK = r"\S"  # Text: the validator strips the value and rejects it when empty


def json_schema(type_: Type) -> dict:
    """The JSON Schema (draft 2020-12) of one schema type, without the $schema header."""
    if isinstance(type_, Enum):
        return {"type": "string", "enum": list(type_.values)}
    if isinstance(type_, Restricted):
        if not type_.pattern:
            raise ValueError(f"{type_.name}: a Restricted type needs a pattern for the JSON Schema")
        return {"type": "string", "pattern": type_.pattern}
    if isinstance(type_, Text):
        return {"type": "string", "pattern": NOT_BLANK}
    if isinstance(type_, Date):
        return {"type": "string", "format": "date", "pattern": DATE_RE.pattern}
    if isinstance(type_, Bool):
        return {"type": "boolean"}
    if isinstance(type_, PositiveInt):
        return {"type": "integer", "minimum": 1}
    if isinstance(type_, ListOf):
        return {"type": "array", "items": json_schema(type_.item)}
    if isinstance(type_, Record):
        properties = {}
        for name, key in type_.keys.items():
            prop = json_schema(key.type)
            if not key.required:
                prop = nullable(prop)  # `key:` with no value is the same as leaving the key out
            prop["description"] = key.doc or key.type.name
            properties[name] = prop
        schema = {"type": "object", "description": type_.what, "properties": properties,
                  "additionalProperties": False}
        required = [name for name, key in type_.keys.items() if key.required]
        if required:
            schema["required"] = required
        return schema
    if isinstance(type_, MapOf):
        from .schema import SLUG_TEXT  # noqa: PLC0415
        return {"type": "object", "description": type_.what,
                "propertyNames": {"pattern": SLUG_TEXT.pattern},
                "additionalProperties": json_schema(type_.value)}
    raise TypeError(f"no JSON Schema for {type(type_).__name__}")


def nullable(schema: dict) -> dict:
    """The schema, also accepting null (an optional key written with no value)."""
    schema = dict(schema)
    schema["type"] = [schema["type"], "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


def document(type_: Type, title: str) -> dict:
    return {"$schema": DRAFT, "title": title, **json_schema(type_)}


def render(schema: dict) -> str:
    """The committed form: pretty-printed, sorted keys, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generated() -> dict[str, str]:
    """Each schema file's name and its generated text."""
    return {name: render(document(type_, title)) for name, (type_, title) in FILES.items()}


def main(argv: list[str] | None = None) -> int:
    out = Path(argv[0]) if argv else SCHEMAS_DIR
    out.mkdir(parents=True, exist_ok=True)
    for name, text in generated().items():
        path = out / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
