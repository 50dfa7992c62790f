"""The GitHub Actions workflow and the pre-commit hook definition that Briefkit ships."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = REPO / ".github" / "workflows" / "briefkit.yml"
HOOKS = REPO / ".pre-commit-hooks.yaml"


def workflow() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def steps(job: dict) -> list[dict]:
    return job["steps"]


def uses(job: dict, action: str) -> dict:
    found = [s for s in steps(job) if s.get("uses", "").split("@")[0] == action]
    assert found, f"no step uses {action}"
    return found[0]


def runs(job: dict) -> list[str]:
    return [s["run"] for s in steps(job) if "run" in s]


def test_triggers():
    on = workflow()["on"]
    assert "pull_request" in on
    assert on["push"]["branches"] == ["main"]


def test_pull_requests_run_check_with_github_annotations():
    job = workflow()["jobs"]["check"]
    assert "pull_request" in job["if"]
    assert uses(job, "actions/checkout")
    assert str(uses(job, "actions/setup-python")["with"]["python-version"]) == "3.11"
    commands = runs(job)
    assert any(re.search(r"pip install \.$", c) for c in commands)
    assert "python build.py check --format github" in commands


def test_pull_requests_get_the_annotation_report_as_one_comment():
    from briefkit.report import MARKER

    job = workflow()["jobs"]["check"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert uses(job, "actions/checkout")["with"]["fetch-depth"] == 0  # the base commit is there
    report = next(s for s in steps(job) if "build.py report" in s.get("run", ""))
    assert shlex.split(report["run"].splitlines()[0]) == ["python", "build.py", "report", "--base", "$BASE_SHA",
                                                          ">", "briefkit-report.md"]
    assert report["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    assert "!cancelled()" in report["if"]  # a failed check is when the report matters most
    post = uses(job, "actions/github-script")
    assert "steps.report.outcome == 'success'" in post["if"] and "head.repo.full_name" in post["if"]
    script = post["with"]["script"]
    assert f'"{MARKER}"' in script and "updateComment" in script and "createComment" in script
    names = [s.get("uses", "").split("@")[0] or s.get("name") for s in steps(job)]
    assert names.index("Check the briefings") < names.index(report["name"]) < names.index("actions/github-script")


def test_main_builds_and_deploys_to_pages():
    data = workflow()
    assert data["permissions"] == {"contents": "read"}  # the least by default
    build = data["jobs"]["build"]
    assert "refs/heads/main" in build["if"] and "pull_request" in build["if"]
    assert str(uses(build, "actions/setup-python")["with"]["python-version"]) == "3.11"
    assert any(re.search(r"pip install \.$", c) for c in runs(build))
    build_step = next(s for s in steps(build) if "build.py build" in s.get("run", ""))
    assert shlex.split(build_step["run"]) == ["python", "build.py", "build", "--base-url", "$BASE_URL"]
    assert "vars.BRIEFKIT_BASE_URL" in build_step["env"]["BASE_URL"]
    assert "steps.pages.outputs.base_url" in build_step["env"]["BASE_URL"]
    assert uses(build, "actions/configure-pages")["id"] == "pages"
    assert uses(build, "actions/upload-pages-artifact")["with"]["path"] == "site"
    names = [s.get("uses", "").split("@")[0] or s.get("run") for s in steps(build)]
    assert names.index("actions/configure-pages") < names.index("actions/upload-pages-artifact")

    deploy = data["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    assert uses(deploy, "actions/deploy-pages")["id"] == "deployment"
    assert "steps.deployment.outputs.page_url" in deploy["environment"]["url"]


def test_workflow_matches_githubs_schema():
    """check-jsonschema ships the GitHub workflow schema: no download."""
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                             "vendor.github-workflows", str(WORKFLOW)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pre_commit_hook():
    hooks = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    assert isinstance(hooks, list)
    hook = next(h for h in hooks if h["id"] == "briefkit-check")
    assert hook["language"] == "python"
    assert hook["entry"] == "briefkit check"
    assert hook["pass_filenames"] is False
    assert hook["name"]
    # The entry is the package's console script, installed by `language: python`.
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["briefkit"] == "briefkit.cli:main_exit"
    files = re.compile(hook["files"])
    for path in ("briefings/actors.yaml", "briefings/site.yaml", "site.yaml",
                 "briefings/talks/annotations.yaml", "briefings/talks/article.md",
                 "content/talks/article.txt"):
        assert files.search(path), path
    for path in ("README.md", "briefings/talks/annotations.yml", "briefings/talks/my-article.md",
                 "briefings/talks/article.html", "briefings/talks/photo.png", "mysite.yaml"):
        assert not files.search(path), path


def test_briefkit_check_console_entry_runs():
    """What the hook runs: `briefkit check` in the repository, exit 0 on the example."""
    result = subprocess.run([sys.executable, "-c", "import sys; from briefkit.cli import main_exit; "
                             "sys.argv = ['briefkit', 'check']; main_exit()"],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
