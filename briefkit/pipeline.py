"""The build: load -> validate and model -> render -> write. Nothing is written unless all is well."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from .diagnostics import ContentError, Diagnostic, Report, UsageError
from .history import load_history
from .loader import load_content
from .model import Site
from .render import render_site
from .search import SearchIndexError, write_index
from .validation import Options, build_model
from .writer import Output, check_output_folder, write_site


@dataclass(frozen=True)
class BuildOptions:
    src: Path
    out: Path
    src_display: str = "briefings"
    base_url: str | None = None
    drafts: bool = False
    strict: bool = False
    write: bool = True  # False for `check`: stop after the model


@dataclass(frozen=True)
class BuildReport:
    diagnostics: list[Diagnostic]
    briefings: int
    quotes: int
    files: int
    stages: dict[str, float] = field(default_factory=dict)
    pages: int = 0


# Told (stage, done, total) as the build goes; the CLI shows it as a progress bar on a terminal.
Progress = Callable[[str, int, int], None]


def build(options: BuildOptions, progress: Progress | None = None,
          render: Callable[[Site], list[Output]] = render_site) -> BuildReport:
    """Build the site, or raise ContentError with every problem found (output untouched).

    `render` turns the model into output files (serve passes an incremental one)."""
    tell = progress or (lambda stage, done, total: None)
    if not options.src.is_dir():
        raise UsageError(f"content folder {options.src_display} does not exist")
    if options.write:
        try:
            check_output_folder(options.out, options.src)
        except OSError as exc:
            raise UsageError(f"cannot use {options.out} as the output folder: {exc.strerror or exc}") from exc
    report, stages, clock = Report(), {}, time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stages[stage], clock = now - clock, now

    raw = load_content(options.src, options.src_display, report)
    lap("load")
    site = build_model(raw, Options(options.base_url, options.drafts), report,
                       lambda done, total: tell("validate", done, total))
    lap("validate")
    if report.errors or (options.strict and report.warnings):
        raise ContentError(report.sorted())
    files = pages = 0
    if options.write:
        site = replace(site, history=load_history(options.src, {b.slug for b in site.briefings}))
        tell("render", 0, 1)
        outputs = render(site)
        pages = sum(output.path.endswith(".html") for output in outputs)
        lap("render")
        tell("render", 1, 1)
        tell("write", 0, 1)
        search_time = 0.0

        def index(folder: Path) -> int:
            """The search index, written into the new site before it replaces the old one."""
            nonlocal search_time
            started = time.perf_counter()
            count = write_index(site, folder)
            search_time = time.perf_counter() - started
            return count

        try:
            files = write_site(outputs, options.out, finish=index)
        except SearchIndexError as exc:
            raise UsageError(f"cannot build the search index ({exc}); {options.out} was left as it was") from exc
        except OSError as exc:
            raise UsageError(f"cannot write the site to {options.out}: {exc.strerror or exc}"
                             + (f" ({exc.filename})" if exc.filename else "")) from exc
        lap("write")
        tell("write", 1, 1)
        stages["write"] -= search_time
        stages["search"] = search_time
    return BuildReport(report.sorted(), len(site.briefings), sum(len(b.quotes) for b in site.briefings),
                       files, stages, pages)
