"""Command line: parse arguments, run the pipeline, print diagnostics, map errors to exit codes."""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from typing import Iterator
from pathlib import Path

from . import __version__
from .diagnostics import BriefkitError, ContentError, Diagnostic
from .cache import cache_folder
from .parallel import default_jobs
from .pipeline import BuildOptions, build
from .schema import is_http_url

COMMANDS = ("build", "check", "serve", "new", "report")
FORMATS = ("text", "json", "github")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="briefkit", description="Build a static site of annotated briefings.")
    main.add_argument("--version", action="version", version=f"briefkit {__version__}")
    commands = main.add_subparsers(dest="command", metavar="{build,check,serve,new,report}")
    for name, help_text in (("build", "check the content and build the site (the default)"),
                            ("check", "check the content without writing anything"),
                            ("serve", "build, serve on 127.0.0.1 and rebuild on every change")):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--src", default="briefings", metavar="DIR", help="content folder (default: briefings)")
        sub.add_argument("--strict", action="store_true", help="treat warnings as errors")
        sub.add_argument("--drafts", action="store_true", help="include briefings marked draft: true")
        if name in ("build", "serve"):
            sub.add_argument("--out", default="site", metavar="DIR", help="output folder (default: site)")
        if name == "build":
            sub.add_argument("--base-url", metavar="URL", help="absolute URL the site is served from")
        if name in ("build", "check"):
            sub.add_argument("--jobs", type=int, metavar="N", help="processes to check and render with "
                             "(default: the number of CPUs)")
            sub.add_argument("--no-cache", action="store_true", help="ignore the cache folder: check every "
                             "briefing again (the cache is in $BRIEFKIT_CACHE, else ~/.cache/briefkit)")
        if name == "check":
            sub.add_argument("--format", choices=FORMATS, default="text",
                             help="text (default), json (one object a line) or github (Actions annotations)")
            sub.add_argument("--fix", action="store_true",
                             help="re-anchor quotes the article no longer matches, when confident (rewrites YAML)")
            sub.add_argument("--links", action="store_true",
                             help="also check every context and source URL over the network (cached)")
            sub.add_argument("--links-ttl", type=float, default=24.0, metavar="HOURS",
                             help="how long a link's answer stays in .briefkit-cache/links.json (default: 24)")
        if name == "serve":
            sub.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
            sub.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    new = commands.add_parser("new", help="create a briefing folder, pre-filled from its article",
                              description="create a briefing folder, pre-filled from its article")
    new.add_argument("slug", metavar="SLUG", help="the new briefing's folder name")
    new.add_argument("--article", metavar="FILE", help="the article (.txt or .md) to start from")
    new.add_argument("--date", metavar="YYYY-MM-DD", help="the briefing's date (default: today)")
    new.add_argument("--src", default="briefings", metavar="DIR", help="content folder (default: briefings)")
    report = commands.add_parser("report", help="Markdown summary of the annotation changes since a git revision",
                                 description="Markdown summary of the annotation changes since a git revision")
    report.add_argument("--base", required=True, metavar="REV", help="the git revision to compare with")
    report.add_argument("--src", default="briefings", metavar="DIR", help="content folder (default: briefings)")
    return main


def print_diagnostics(diagnostics: list[Diagnostic], fmt: str = "text") -> None:
    """Diagnostics to stderr as text; as JSON lines or GitHub annotations to stdout (for tools)."""
    for diagnostic in diagnostics:
        if fmt == "json":
            print(diagnostic.to_json())
        elif fmt == "github":
            print(diagnostic.to_github())
        else:
            print(diagnostic.format(), file=sys.stderr)


def count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 built, 1 content errors, 2 usage errors)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0] not in COMMANDS and args_list[0] not in ("-h", "--help", "--version")):
        args_list.insert(0, "build")
    try:
        args = parser().parse_args(args_list)
    except SystemExit as exc:  # argparse has printed the usage error
        return 2 if exc.code else 0
    if args.command == "serve":
        from .serve import serve  # noqa: PLC0415 (only `serve` needs the server's imports)
        return run_guarded(lambda: serve(args))
    if args.command == "report":
        from .report import report_changes  # noqa: PLC0415
        return run_guarded(lambda: report_changes(args))
    if args.command == "new":
        from .scaffold import new_briefing  # noqa: PLC0415
        return run_guarded(lambda: new_briefing(args))
    fmt = getattr(args, "format", "text")
    base_url = getattr(args, "base_url", None)
    if base_url is not None and not is_http_url(base_url):
        print(f"briefkit: error: --base-url must be an absolute http(s) URL, not '{base_url}'", file=sys.stderr)
        return 2
    jobs = getattr(args, "jobs", None)
    if jobs is not None and jobs < 1:
        print(f"briefkit: error: --jobs must be 1 or more, not {jobs}", file=sys.stderr)
        return 2
    out = Path(getattr(args, "out", "site"))
    cache = None if getattr(args, "no_cache", True) else cache_folder(out)
    options = BuildOptions(src=Path(args.src), out=out,
                           src_display=args.src.rstrip("/") or "/", base_url=base_url, drafts=args.drafts,
                           strict=args.strict, write=args.command == "build", jobs=jobs or default_jobs(),
                           cache=cache)
    run = build
    if args.command == "check":
        from .heal import healing_check  # noqa: PLC0415
        run = healing_check(run, args.fix, sys.stdout if fmt == "text" else sys.stderr)
        if args.links:
            from .links import Settings, with_links  # noqa: PLC0415
            run = with_links(run, Settings(ttl_hours=args.links_ttl))
    try:
        with progress_display(fmt == "text" and sys.stderr.isatty()) as tell:
            result = run(options, tell)
    except ContentError as exc:
        print_diagnostics(exc.diagnostics, fmt)
        errors = sum(d.severity == "error" for d in exc.diagnostics)
        warnings = len(exc.diagnostics) - errors
        what = "build failed" if options.write else "check failed"
        strict = " (--strict: warnings count as errors)" if args.strict and warnings else ""
        kept = f"; {options.out} was left as it was" if options.write else ""
        print(f"{what}: {count(errors, 'error')}, {count(warnings, 'warning')}{strict}{kept}", file=sys.stderr)
        return exc.exit_code
    except BriefkitError as exc:
        print(f"briefkit: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print_diagnostics(result.diagnostics, fmt)
    stages = ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in result.stages.items())
    problems = f"{count(len(result.diagnostics), 'warning')}, 0 errors"
    if options.write:
        print(f"built {count(result.briefings, 'briefing')} ({count(result.quotes, 'quote')} verified) "
              f"into {options.out}/: {count(result.pages, 'page')}, {count(result.files, 'file')}, "
              f"{problems} [{stages}]")
    else:
        # With --format json or github, stdout holds only the diagnostics: the summary goes to stderr.
        print(f"checked {count(result.briefings, 'briefing')} ({count(result.quotes, 'quote')} verified): "
              f"{problems} [{stages}]", file=sys.stdout if fmt == "text" else sys.stderr)
    return 0


@contextmanager
def progress_display(enabled: bool) -> Iterator:
    """A progress bar per stage on a terminal (rich, on stderr, gone when done); else nothing."""
    if not enabled:
        yield None
        return
    from rich.console import Console  # noqa: PLC0415 (only terminals need it)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, int] = {}

        def tell(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield tell


def run_guarded(command) -> int:
    """Run a command that returns an exit status; usage and content errors become messages."""
    try:
        return command()
    except ContentError as exc:
        print_diagnostics(exc.diagnostics)
        return exc.exit_code
    except BriefkitError as exc:
        print(f"briefkit: error: {exc}", file=sys.stderr)
        return exc.exit_code


def main_exit() -> None:
    """Console-script entry (`briefkit`): the same as `python build.py`."""
    sys.exit(main())
