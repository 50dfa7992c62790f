"""Work shared across processes (`--jobs N`): forked workers, results in a deterministic order.

The workers are forked, so they start with the parent's model and templates and nothing is
pickled on the way in; each sends its results back once, through a pipe. The parent does a
share of the work too. Output never depends on the number of workers.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import tempfile
from pathlib import Path
from typing import Callable, Sequence, TypeVar

from . import urls
from .exports import Exporter, annotations_path
from .model import Site
from .render import PageRenderer, render_site
from .search import die_with_parent
from .writer import Output, check_paths

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")
R = TypeVar("R")
PIPE_BYTES = 1 << 20  # Linux's default limit for an unprivileged process (/proc/sys/fs/pipe-max-size)


def default_jobs() -> int:
    """The number of CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class WorkerError(RuntimeError):
    """A worker process failed without an exception that could be sent back."""


def _work(function: Callable, chunk: Sequence, conn, spool) -> None:
    die_with_parent()  # a killed build's workers must not go on (holding its lock, writing its folder)
    try:
        # Each result pickled into the spool as soon as it is made: no process holds the whole
        # share's pickle in memory (at 10,000 briefings the checked share's was the build's peak).
        # Pickled one by one (as the cache stores them), so that each is freed once written.
        for item in chunk:
            pickle.dump(function(item), spool, protocol=pickle.HIGHEST_PROTOCOL)
        spool.flush()
        result = ("ok", len(chunk))
    except BaseException as exc:  # sent to the parent, which raises it
        result = ("error", exc)
    try:
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        data = pickle.dumps(("error", WorkerError(f"{type(result[1]).__name__}: {result[1]} ({exc})")))
    conn.send_bytes(data)
    conn.close()


def fork_map(function: Callable[[T], R], items: Sequence[T], jobs: int,
             progress: Callable[[int], None] | None = None, keep: Callable[[R], R] | None = None) -> list[R]:
    """[function(item) for item in items], shared among `jobs` processes (forked; Linux, macOS).

    `progress(done)` is told as items are done: counted in this process, whose share is one in
    `jobs`, so with workers it is an estimate (they go at about the same pace). `keep(result)`,
    in this process, is what is kept of each result as it arrives."""
    jobs = min(jobs, len(items))
    tell = progress or (lambda done: None)
    keep = keep or (lambda result: result)
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        results = []
        for item in items:
            results.append(keep(function(item)))
            tell(len(results))
        return results
    context = multiprocessing.get_context("fork")
    workers = []
    for share in range(1, jobs):
        reader, writer = context.Pipe(duplex=False)
        with contextlib.suppress(OSError, AttributeError):  # Linux: a worker whose result fits ends when done,
            fcntl.fcntl(writer.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)  # not when this process reads it
        spool = tempfile.TemporaryFile(prefix="briefkit-results-")
        process = context.Process(target=_work, args=(function, items[share::jobs], writer, spool), daemon=True)
        process.start()
        writer.close()
        workers.append((process, reader, spool))
    shares: list[list[R]] = []
    failure: BaseException | None = None
    try:
        own: list[R] = []
        for item in items[0::jobs]:
            own.append(keep(function(item)))
            tell(min(len(items), len(own) * jobs))
        shares.append(own)
    except BaseException as exc:
        failure = exc
    for process, reader, spool in workers:
        try:
            status, value = pickle.loads(reader.recv_bytes())
            if status == "ok":
                spool.seek(0)
                value = [keep(pickle.load(spool)) for _ in range(value)]
        except EOFError:
            status, value = "error", WorkerError(f"a worker process stopped (exit code {process.exitcode})")
        finally:
            reader.close()
            spool.close()
            process.join()
        if status == "error":
            failure = failure or value
        else:
            shares.append(value)
    if failure is not None:
        raise failure
    return [shares[i % jobs][i // jobs] for i in range(len(items))]


class ShareRenderer(PageRenderer):
    """Renders every `jobs`-th page (from `share`); the others are left empty, for another worker.

    With `into` (the new site's folder), each page and export is written there as soon as it is
    rendered and only its path is kept (`Output.written`): no process holds the pages in memory."""

    def __init__(self, site: Site, folder: Path, share: int, jobs: int, into: Path | None = None):
        super().__init__(site, folder)
        self.share, self.jobs, self.count = share, jobs, 0
        self.mine: set[str] = set()
        self.into = into
        self.made: set[str] = set()  # folders created under `into`
        self.holding = False  # rendering a briefing: its export reads the page first
        # The source links of the briefings rendered here, for data/quotes.json: kept instead of
        # each article's text (Exporter.article), which 10,000 briefings made some 60 MB.
        self.links: dict[str, dict[str, str]] = {}

    def page(self, template: str, path: str, title: str, root: str | None = None, **context) -> Output:
        number, self.count = self.count, self.count + 1
        if number % self.jobs != self.share:
            return Output(path, b"")
        self.mine.add(path)
        if self.holding and self.into is not None and self.share == 0:
            self.links[context["briefing"].slug] = context["source_links"]
        output = super().page(template, path, title, root, **context)
        return output if self.holding else self.keep(output)

    def briefing(self, briefing) -> list[Output]:
        path = urls.briefing_page(briefing.slug)
        # The page is another worker's, and so is its export (read off the page): placeholders in
        # PageRenderer.briefing's order, without rendering or reading anything.
        if self.count % self.jobs != self.share:
            self.count += 1
            folder = path.rsplit("/", 1)[0]
            return [Output(path, b""), Output(annotations_path(briefing.slug), b""),
                    *(Output(f"{folder}/{name}", copy_from=source) for name, source in briefing.media)]
        self.holding = True
        try:
            outputs = super().briefing(briefing)
        finally:
            self.holding = False
        if self.into is not None:
            self.exports._articles.pop(briefing.slug, None)  # its page and export are done
        self.mine.update(output.path for output in outputs[1:])
        return [self.keep(output) for output in outputs]

    def all(self) -> list[Output]:
        if self.into is None:
            return super().all()
        data_files = self.exports.data_files  # the data files too: written as soon as made
        self.exports.data_files = lambda: [self.keep(output) for output in data_files()]  # type: ignore
        self.exports.source_links = self.kept_links  # type: ignore[method-assign]
        try:
            return super().all()
        finally:  # these refer to this renderer: a cycle would keep the model until a full collection
            del self.exports.data_files, self.exports.source_links

    def kept_links(self, briefing) -> dict[str, str]:
        """Exporter.source_links, from `links` when the briefing was rendered here; else its
        article's text is read and not kept."""
        links = self.links.pop(briefing.slug, None)
        if links is None:
            links = Exporter.source_links(self.exports, briefing)
            if not self.holding:
                self.exports._articles.pop(briefing.slug, None)
        return links

    def feed(self) -> Output:
        return self.keep(super().feed())

    def keep(self, output: Output) -> Output:
        """The output as this renderer keeps it: written into `into` now, when there is one."""
        if self.into is None or output.data is None:
            return output
        check_paths([output])  # before writing: a path must not leave the folder
        folder = output.path.rpartition("/")[0]
        if folder not in self.made:
            (self.into / folder).mkdir(parents=True, exist_ok=True)  # another worker may make it too
            self.made.add(folder)
        target = self.into / output.path
        # `into` may hold the site a build replaced (`writer.take_spare`), whose files are hard
        # links to the current site's: a new file, never one written into.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target)
        target.write_bytes(output.data)
        return Output(output.path, written=True)


class WorkerRenderer(ShareRenderer):
    """A forked worker's ShareRenderer: the files made from the whole site (feed, data files,
    sitemap) are the first share's, so a worker does not compute them."""

    def feed(self) -> Output:
        return Output("feed.xml", b"")

    def all(self) -> list[Output]:
        self.exports.data_files = lambda: []  # type: ignore[method-assign]
        return super().all()


def render_parallel(site: Site, folder: Path, jobs: int, into: Path | None = None) -> list[Output]:
    """`render_site(site, folder)`, the pages shared among `jobs` processes.

    With `into`, the folder the site is being written to (`write_site`), the pages and exports are
    written there by the process that renders them, and returned as `written` outputs."""
    if jobs <= 1 and into is None:
        return render_site(site, folder)
    jobs = max(1, jobs)

    def share(number: int):
        if number == 0:
            return ShareRenderer(site, folder, 0, jobs, into).all()
        renderer = WorkerRenderer(site, folder, number, jobs, into)
        outputs = renderer.all()
        if into is not None:  # the files it wrote (the media are copied by the writer)
            return [o.path for o in outputs if o.written]
        return [o for o in outputs if o.path in renderer.mine]

    first, *others = fork_map(share, list(range(jobs)), jobs)
    if into is None:
        pages = {output.path: output for part in others for output in part}
    else:
        pages = {path: Output(path, written=True) for part in others for path in part}
    return [pages.get(output.path, output) for output in first]
