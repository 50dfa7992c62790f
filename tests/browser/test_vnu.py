"""The Nu HTML checker (npm vnu-jar, run with the system's Java) finds no error on any page of
the built example site."""

from __future__ import annotations

import json
import subprocess
import time
from urllib.parse import unquote, urlparse

import pytest

from .conftest import VNU_JAR, need_java, need_npm_tool


def test_every_page_is_valid_html(built_site):
    java = need_java()
    jar = need_npm_tool(VNU_JAR)
    pages = sorted(built_site.rglob("*.html"))
    assert pages, f"no .html files in {built_site}"
    started = time.monotonic()
    # One JVM for every page; with --format json the report goes to stderr.
    run = subprocess.run(
        [java, "-jar", str(jar), "--errors-only", "--format", "json", *map(str, pages)],
        capture_output=True, text=True, timeout=300,
    )
    print(f"\nvnu: checked {len(pages)} pages in {time.monotonic() - started:.1f}s")
    try:
        messages = json.loads(run.stderr)["messages"]
    except (ValueError, KeyError):
        pytest.fail(f"the Nu HTML checker did not report JSON (exit {run.returncode}):\n"
                    f"{run.stdout}\n{run.stderr}", pytrace=False)
    errors = [m for m in messages if m.get("type") in ("error", "non-document-error")]
    if errors or run.returncode != 0:
        lines = []
        for m in errors:
            path = unquote(urlparse(m.get("url", "")).path)
            try:
                path = str(built_site.joinpath(path).relative_to(built_site)) if path else "?"
            except ValueError:
                pass
            line = m.get("lastLine", m.get("firstLine", "?"))
            extract = (m.get("extract") or "").replace("\n", " ").strip()
            lines.append(f"{path}:{line}: {m.get('subType', m['type'])}: {m.get('message')}"
                         + (f"\n    {extract}" if extract else ""))
        pytest.fail(f"the Nu HTML checker found {len(errors)} error(s) in {len(pages)} pages "
                    f"(exit {run.returncode}):\n" + "\n".join(lines), pytrace=False)
