"""Lighthouse 12.2.3 (npm, pinned in package-lock.json) against the example site served on
127.0.0.1, in Debian's Chromium: accessibility, best practices and SEO score 100, performance at
least 90, on the index and a briefing page, with the mobile default and the desktop preset.

The scores are printed (pytest -s shows them) and collected in lighthouse/scores.json under the
session's temporary folder, beside each run's full JSON report.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from .conftest import CHROMIUM, CHROMIUM_ARGS, LIGHTHOUSE, need_chromium, need_npm_tool

CATEGORIES = ["accessibility", "best-practices", "seo", "performance"]
MINIMUM = {"accessibility": 100, "best-practices": 100, "seo": 100, "performance": 90}
CHROME_FLAGS = " ".join(["--headless=new", *CHROMIUM_ARGS])


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    folder = tmp_path_factory.getbasetemp() / "lighthouse"
    folder.mkdir(exist_ok=True)
    return folder


def item_summary(item: dict) -> str:
    node = item.get("node") if isinstance(item.get("node"), dict) else None
    parts = []
    if node:
        parts.append(node.get("selector") or node.get("snippet") or "")
        if node.get("explanation"):
            parts.append(node["explanation"].replace("\n", " "))
    for key in ("description", "source", "url", "label"):
        value = item.get(key)
        if isinstance(value, str) and value:
            parts.append(value)
        elif isinstance(value, dict) and value.get("url"):  # e.g. sourceLocation
            parts.append(value["url"])
    location = item.get("sourceLocation")
    if isinstance(location, dict) and location.get("url"):
        parts.append(location["url"])
    return " | ".join(dict.fromkeys(p for p in parts if p))


def failing_audits(report: dict, category: str) -> list[str]:
    """The audits that cost the category points: weighted ones that did not pass, and for
    performance also the opportunities (unweighted audits with savings) that did not."""
    lines = []
    for ref in report["categories"][category]["auditRefs"]:
        audit = report["audits"][ref["id"]]
        if audit.get("score") is None or audit["score"] >= 1:
            continue
        if not ref.get("weight") and not (category == "performance" and audit.get("scoreDisplayMode") == "metricSavings"):
            continue
        shown = f" ({audit['displayValue']})" if audit.get("displayValue") else ""
        lines.append(f"  - {ref['id']}: score {audit['score']:.2f}{shown}: {audit['title']}")
        items = (audit.get("details") or {}).get("items") or []
        for item in items[:8]:
            if isinstance(item, dict) and (summary := item_summary(item)):
                lines.append(f"      {summary}")
        if len(items) > 8:
            lines.append(f"      ... and {len(items) - 8} more")
    return lines


@pytest.mark.parametrize("preset", ["mobile", "desktop"])
@pytest.mark.parametrize("kind", ["index", "briefing"])
def test_lighthouse_scores(site, reports, kind, preset):
    need_chromium()
    lighthouse = need_npm_tool(LIGHTHOUSE, node=True)
    url = site.page_url(kind)
    output = reports / f"{kind}-{preset}.json"
    command = [
        str(lighthouse), url, "--quiet", "--output=json", f"--output-path={output}",
        f"--only-categories={','.join(CATEGORIES)}", f"--chrome-flags={CHROME_FLAGS}",
        *(["--preset=desktop"] if preset == "desktop" else []),
    ]
    started = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "CHROME_PATH": str(CHROMIUM)})
    seconds = time.monotonic() - started
    if run.returncode != 0 or not output.exists():
        pytest.fail(f"lighthouse exited with {run.returncode} on {url}:\n{run.stdout}\n{run.stderr}", pytrace=False)
    report = json.loads(output.read_text(encoding="utf-8"))
    if report.get("runtimeError"):
        pytest.fail(f"lighthouse runtime error on {url}: {report['runtimeError']}", pytrace=False)

    scores = {c: (None if report["categories"][c]["score"] is None
                  else round(report["categories"][c]["score"] * 100)) for c in CATEGORIES}
    metrics = {ref["id"]: report["audits"][ref["id"]].get("displayValue")
               for ref in report["categories"]["performance"]["auditRefs"] if ref.get("group") == "metrics"}
    print(f"\nlighthouse {report['lighthouseVersion']} {preset} {site.path(kind)}: "
          + ", ".join(f"{c} {s}" for c, s in scores.items()) + f" ({seconds:.1f}s); " + ", ".join(
              f"{k} {v}" for k, v in metrics.items()))
    summary_file = reports / "scores.json"
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    summary[f"{preset} {site.path(kind)}"] = {"scores": scores, "metrics": metrics, "seconds": round(seconds, 1),
                                               "report": str(output)}
    summary_file.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    print(f"lighthouse: scores in {summary_file}")

    problems = []
    for category in CATEGORIES:
        if scores[category] is None or scores[category] < MINIMUM[category]:
            problems.append(f"{category}: {scores[category]} (needs {MINIMUM[category]}"
                            f"{'' if MINIMUM[category] == 100 else '+'})")
            problems.extend(failing_audits(report, category))
    warnings = report.get("runWarnings") or []
    if problems:
        pytest.fail(f"Lighthouse {report['lighthouseVersion']} ({preset}) on {site.path(kind)}: "
                    + ", ".join(f"{c} {s}" for c, s in scores.items()) + "\n" + "\n".join(problems)
                    + ("\nrun warnings: " + "; ".join(warnings) if warnings else "")
                    + f"\nfull report: {output}", pytrace=False)
