"""Editor JSON Schemas: generated from the validator's definitions, committed, and in agreement.

The drift test keeps schemas/*.schema.json equal to what briefkit.jsonschema generates; the
example content validates with check-jsonschema (offline: local schema files, bundled
metaschemas); every fixture under tests/jsonschema_invalid/<case>/ is rejected by both
check-jsonschema and Briefkit's own validator.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from briefkit import jsonschema  # noqa: E402
from briefkit.diagnostics import Report, SourceFile  # noqa: E402
from briefkit.schema import ACTORS, ANNOTATIONS, SITE, Context  # noqa: E402

SCHEMAS = REPO / "schemas"
EXAMPLE = REPO / "briefings"
INVALID = REPO / "tests" / "jsonschema_invalid"
TYPES = {"annotations": ANNOTATIONS, "actors": ACTORS, "site": SITE}
INVALID_FILES = sorted(INVALID.glob("*/*.yaml"))


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess:
    """Run check-jsonschema with a local schema file (nothing is fetched)."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--no-cache",
         "--schemafile", str(SCHEMAS / f"{schema}.schema.json"), *map(str, files)],
        capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", sorted(jsonschema.FILES))
def test_committed_schemas_match_the_generator(name):
    committed = SCHEMAS / name
    expected = jsonschema.generated()[name]
    assert committed.exists(), f"{committed} is missing: run `make schemas`"
    assert committed.read_text(encoding="utf-8") == expected, \
        f"{committed.relative_to(REPO)} is out of date with briefkit/schema.py: run `make schemas`"


def test_every_key_of_the_validator_is_in_the_schema():
    annotations = json.loads((SCHEMAS / "annotations.schema.json").read_text())
    assert set(annotations["properties"]) == set(ANNOTATIONS.keys)
    assert annotations["required"] == ["title", "date", "summary"]
    assert annotations["additionalProperties"] is False
    quote = annotations["properties"]["quotes"]["items"]
    assert set(quote["required"]) == {"text", "speaker"}
    assert quote["properties"]["occurrence"]["minimum"] == 1
    assert quote["properties"]["text"]["description"] == "the quoted words, as in the article"
    date = annotations["properties"]["date"]
    assert date["format"] == "date" and date["type"] == "string"
    actors = json.loads((SCHEMAS / "actors.schema.json").read_text())
    assert actors["propertyNames"]["pattern"] == "^[a-z0-9][a-z0-9-]*$"
    assert actors["additionalProperties"]["required"] == ["name"]
    site = json.loads((SCHEMAS / "site.schema.json").read_text())
    assert set(site["properties"]) == set(SITE.keys) and "required" not in site
    for schema in (annotations, actors, site):
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schemas_are_valid_draft_2020_12():
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--check-metaschema",
                             *map(str, sorted(SCHEMAS.glob("*.schema.json")))],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("schema, pattern", [("annotations", "*/annotations.yaml"),
                                             ("actors", "actors.yaml"), ("site", "site.yaml")])
def test_example_content_validates(schema, pattern):
    files = sorted(EXAMPLE.glob(pattern))
    assert files
    result = check_jsonschema(schema, *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_there_are_invalid_fixtures():
    cases = {path.parent.name for path in INVALID_FILES}
    assert {"unknown-key", "no-tag", "bad-slug", "missing-title", "context-url-not-http", "bad-kind"} <= cases


@pytest.mark.parametrize("path", INVALID_FILES, ids=lambda p: p.parent.name)
def test_invalid_fixture_is_rejected_by_check_jsonschema(path):
    result = check_jsonschema(path.stem, path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Schema validation errors" in result.stdout + result.stderr


@pytest.mark.parametrize("path", INVALID_FILES, ids=lambda p: p.parent.name)
def test_invalid_fixture_is_rejected_by_the_validator_too(path):
    source = SourceFile(path.name, path.read_text(encoding="utf-8"))
    report = Report()
    TYPES[path.stem].check(yaml.compose(source.text), Context(source, report))
    assert report.errors, f"briefkit accepts {path.relative_to(REPO)} but the JSON Schema does not"


def test_the_fixtures_base_is_valid(tmp_path):
    """The invalid fixtures are one change away from this valid file."""
    text = (INVALID / "unknown-key" / "annotations.yaml").read_text()
    valid = tmp_path / "annotations.yaml"
    valid.write_text(text.replace("categories: [harbour]\n", ""))
    result = check_jsonschema("annotations", valid)
    assert result.returncode == 0, result.stdout + result.stderr


def test_generator_writes_the_files(tmp_path):
    assert jsonschema.main([str(tmp_path)]) == 0
    for name, text in jsonschema.generated().items():
        assert (tmp_path / name).read_text(encoding="utf-8") == text
        assert text.endswith("}\n")
