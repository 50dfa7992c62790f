"""The build cache: checked briefings by content hash, and the fingerprint of the last build.

- A briefing's folder is checked (YAML composed, schema, quotes anchored, article rendered) only
  when its content changed: the result (the diagnostics and the frozen `Briefing`) is stored under
  a hash of everything it depends on: the files of its folder (names, kinds, the bytes of the
  article and the annotations), actors.yaml, the way the content folder was named on the command
  line, and the code of Briefkit itself. The CLI keeps them in a cache folder (one file per
  briefing, see `cache_folder` and `pack_entry`); `serve` keeps them in memory.
- A build that would change nothing stops early: the fingerprint (size, mtime and inode of every
  file under the content and templates folders, the options, the code, and the output folder's
  marker) equals the one stored by the last successful build. Files modified less than
  RACY_SECONDS before that build started are never trusted by their stat alone (as git does).

Deleting the cache folder, or `--no-cache`, gives a cold build; the output is the same either way.
"""

from __future__ import annotations

import copyreg
import functools
import hashlib
import io
import json
import os
import pickle
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import IO, Callable, Mapping, Protocol

try:
    import fcntl
except ImportError:  # Windows: unused entries are deleted at once there
    fcntl = None  # type: ignore[assignment]

from . import __version__
from .diagnostics import Diagnostic, Report
from .loader import MAX_ARTICLE_BYTES, RawContent, content_folders, load_briefing, load_settings
from .model import Briefing, Site, make_site
from .search import Document, Item, actor_records, briefing_document
from .speakers import check_briefing_speakers, check_conflicts
from .writer import is_locked
from .text.render import Renderer
from .validation import (BriefingChecker, CheckedBriefing, Options, Registry, check_config, check_inline_actors,
                         check_registry)
from .writer import KEPT, MARKER, discard

CACHE_FORMAT = b"briefkit-cache-1"
RACY_SECONDS = 2.0
KEYS_FILE = "folder-keys.pickle"  # DiskStore.key
DEPENDENCIES = ("Jinja2", "Markdown", "PyYAML", "nh3", "feedgen", "pagefind", "pagefind_bin")
ARTICLE_AND_ANNOTATIONS = ("article.md", "article.txt", "annotations.yaml")

# What checking one briefing folder gives: the loader's diagnostics, the checker's result, and
# the briefing's search document (search.briefing_document; None without a briefing).
Entry = tuple[tuple[Diagnostic, ...], CheckedBriefing | None, Document | None]


def cache_folder(out: Path) -> Path:
    """The cache of the site built into `out`: $BRIEFKIT_CACHE, else $XDG_CACHE_HOME/briefkit (or
    ~/.cache/briefkit), one folder per output folder. Not next to the site: a failed build leaves
    nothing new beside it, and the cache is never deployed or committed by mistake."""
    root = os.environ.get("BRIEFKIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "briefkit")
    return Path(root) / hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:24]


@functools.cache
def code_version() -> str:
    """A digest of Briefkit's code and the versions of the libraries that shape its output: a cache
    written by other code is never used."""
    digest = hashlib.sha256(CACHE_FORMAT + __version__.encode())
    for name in DEPENDENCIES:
        try:
            digest.update(f"\0{name} {metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"\0{name} none".encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class Store(Protocol):
    def get(self, key: str) -> Entry | None: ...
    def put(self, key: str, entry: Entry) -> None: ...
    def keep_only(self, keys: set[str]) -> None: ...


@dataclass
class MemoryStore:
    """Checked briefings kept in memory between the rebuilds of one `serve`."""

    entries: dict[str, Entry]

    def get(self, key: str) -> Entry | None:
        return self.entries.get(key)

    def put(self, key: str, entry: Entry) -> None:
        self.entries[key] = entry

    def keep_only(self, keys: set[str]) -> None:
        for key in set(self.entries) - keys:
            del self.entries[key]


@dataclass
class DiskStore:
    """Checked briefings as pickles under `folder/briefings/`, one file per content hash.

    New entries are written by `save()`: the pipeline saves after a build that succeeded, and
    after a failed one only into a cache folder that exists already (a first build that fails
    leaves nothing behind)."""

    folder: Path
    pending: dict[str, tuple[int, int]] = field(default_factory=dict)  # new entries: offset, size in `spool`
    used: set[str] = field(default_factory=set)
    stats: dict[str, tuple] | None = None  # folder -> (signature, key): the last build's (`key`)
    fresh_stats: dict[str, tuple] = field(default_factory=dict)  # this build's
    listings: dict[str, list] = field(default_factory=dict)  # folder -> its entries (`fingerprint`)
    # The new entries' pickles wait for save() in an unnamed temporary file, not in memory.
    spool: IO[bytes] | None = None
    # A shared lock on the entries while this build may read their HTML (`hold_entries`).
    reading: int | None = None
    damaged: set[str] = field(default_factory=set)  # keys whose file could not be read: written again

    def path(self, key: str) -> Path:
        return self.folder / "briefings" / f"{key}.pickle"

    def get(self, key: str) -> Entry | None:
        """The entry, its article's and search document's HTML left in its file (`pack_entry`)."""
        if self.reading is None:
            self.reading = hold_entries(self.folder)
        path = f"{self.folder}{os.sep}briefings{os.sep}{key}.pickle"  # no Path: 10,000 of them
        try:
            data = read_file(path)
        except OSError:
            return None
        try:
            return unpack_entry(data, path)
        except Exception:  # a damaged or foreign file is a miss, never an error
            self.damaged.add(key)
            return None

    def put(self, key: str, entry: Entry) -> None:
        if self.spool is None:
            self.spool = tempfile.TemporaryFile(prefix="briefkit-entries-")
        data = pack_entry(entry)
        self.pending[key] = (self.spool.seek(0, os.SEEK_END), len(data))
        self.spool.write(data)

    def keep_only(self, keys: set[str]) -> None:
        self.used = keys

    def key(self, folder: Path, base: bytes) -> str:
        """`folder_key(folder, base)`, from the last build's when the folder's listing and the stat of
        its article and annotations are the same and were old enough then to be trusted (as git
        trusts an index entry): reading and hashing 20,000 files was half the load at 10,000."""
        if self.stats is None:
            try:
                stored = pickle.loads((self.folder / KEYS_FILE).read_bytes())
                self.stats = stored if isinstance(stored, dict) else {}
            except Exception:  # none, damaged or foreign: hash every folder
                self.stats = {}
        path = str(folder)
        signature = folder_signature(path, base, self.listings.get(path))
        hit = self.stats.get(path)
        if signature is not None and hit is not None and hit[0] == signature:
            self.fresh_stats[path] = hit
            return hit[1]
        hashed_ns = time.time_ns()
        key = folder_key(folder, base)
        if signature is not None and signature[1] < hashed_ns - int(RACY_SECONDS * 1e9):
            self.fresh_stats[path] = (signature, key)
        return key

    def save(self, create: bool = True) -> None:
        """Write the new entries and delete those no briefing uses any more."""
        if not create and not self.folder.is_dir():
            self.release()
            return
        for key, (offset, size) in self.pending.items():
            # An entry is named by its content: one written meanwhile by another build stays, since
            # that build may read its HTML at offsets of its own (a pickle's layout may differ).
            if key in self.damaged or not self.path(key).exists():
                self.spool.seek(offset)
                write_atomically(self.path(key), self.spool.read(size))
        self.pending.clear()
        if self.stats is not None and self.fresh_stats != self.stats:
            write_atomically(self.folder / KEYS_FILE, pickle.dumps(self.fresh_stats, protocol=pickle.HIGHEST_PROTOCOL))
        if self.spool is not None:
            self.spool.close()
            self.spool = None
        try:
            if self.reading is None:
                self.reading = hold_entries(self.folder)
            if not delete_allowed(self.reading):
                return  # another build may read the unused entries' HTML: a later build deletes them
            try:
                names = os.listdir(self.folder / "briefings")
            except OSError:
                return
            for name in names:
                if name.endswith(".pickle") and name[:-7] not in self.used:
                    with contextlib_suppress():
                        os.unlink(self.folder / "briefings" / name)
        finally:
            self.release()

    def release(self) -> None:
        """Let go of the entries: their HTML is not read by this build any more."""
        if self.reading is not None and self.reading >= 0:
            os.close(self.reading)
        self.reading = None


# An entry's file: the pickle of the entry, in which the briefing's article HTML and the search
# document's are places in the file (pipeline.SpooledBriefing, SpooledDocument), then those HTML
# texts (UTF-8), then their size in 8 bytes. A cached briefing is loaded without its HTML (half of
# the entry): its page, made again only when something it shows changed, reads it from there.
TRAILER = 8


def pack_entry(entry: Entry) -> bytes:
    """The bytes of an entry's file (see above)."""
    from .pipeline import KEPT_FIELDS, SpooledBriefing, SpooledDocument, cached_briefing  # noqa: PLC0415 (the pipeline imports this module)
    texts: list[bytes] = []
    offset = 0

    def place(text: str) -> tuple[None, int, int]:
        nonlocal offset
        data = text.encode("utf-8")
        texts.append(data)
        offset += len(data)
        return None, offset - len(data), len(data)  # in the texts; the file's path and offset when loaded

    def briefing(kept: Briefing) -> tuple:  # by its fields: the model's classes have slots, no __dict__
        return cached_briefing, (tuple(getattr(kept, name) for name in KEPT_FIELDS), place(kept.article_html))

    def document(kept: Document) -> tuple:
        return object.__new__, (SpooledDocument,), {"url": kept.url, "place": place(kept.html), "digest": kept.digest}

    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, Briefing: briefing, SpooledBriefing: briefing,
                              Document: document, SpooledDocument: document}
    pickler.dump(entry)
    buffer.writelines(texts)
    buffer.write(offset.to_bytes(TRAILER, "big"))
    return buffer.getvalue()


def unpack_entry(data: bytes, path: str) -> Entry:
    """The entry of a file's bytes (`pack_entry`), its texts left in the file at `path`."""
    reading = io.BytesIO(data)
    diagnostics, checked, document = entry = pickle.Unpickler(reading).load()  # not what follows the pickle
    start = len(data) - TRAILER - int.from_bytes(data[-TRAILER:], "big")
    if start <= 0 or reading.tell() != start:  # the texts right after the pickle, or a damaged file
        raise ValueError("not an entry's file")
    for kept in (checked.briefing if checked is not None else None, document):
        if kept is not None:
            source, offset, size = kept.place
            if source is not None or offset < 0 or size < 0 or start + offset + size > len(data) - TRAILER:
                raise ValueError("not an entry's file")
            object.__setattr__(kept, "place", (path, start + offset, size))
    return entry


def read_file(path: str, size: int = 1 << 16) -> bytes:
    """The bytes of a file (os calls: a third of the time of `open().read()` for 10,000 small files)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, size)
        if len(data) == size:  # a larger file: the rest (a short read is a miss: `unpack_entry`)
            parts = [data]
            while more := os.read(fd, 1 << 20):
                parts.append(more)
            data = b"".join(parts)
        return data
    finally:
        os.close(fd)


def read_place(place: tuple[int | str, int, int]) -> str:
    """The UTF-8 text at (file descriptor or path, offset, size)."""
    source, offset, size = place
    if isinstance(source, int):
        return os.pread(source, size, offset).decode("utf-8")
    fd = os.open(source, os.O_RDONLY)
    try:
        return os.pread(fd, size, offset).decode("utf-8")
    finally:
        os.close(fd)


def hold_entries(folder: Path) -> int | None:
    """A shared lock on the cache's entries, held while a build may read their HTML: a build
    deletes the entries it did not use only when no other holds it (`delete_allowed`). None where
    there is no cache folder yet (asked again later: another build may make it meanwhile); -1
    where there is no locking."""
    if fcntl is None:
        return -1
    try:
        # Open for writing too: on NFS an exclusive flock (`delete_allowed`) needs it.
        fd = os.open(folder / "entries.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
    except OSError:
        pass
    return fd


def delete_allowed(reading: int | None) -> bool:
    """Whether no other build holds the entries (`hold_entries`): the lock made exclusive, if free."""
    if fcntl is None or reading is None or reading < 0:  # no locking, or no folder whose entries to delete
        return True
    try:
        fcntl.flock(reading, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class contextlib_suppress:
    """Ignore an OSError (a cache file another build removed first)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, value, traceback) -> bool:
        return kind is not None and issubclass(kind, OSError)


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib_suppress():
            os.unlink(tmp)
        raise


@dataclass
class SearchMemo:
    """The search bundles of the last build (one per shard, `search.write_index`), each by a
    digest of the documents it was made from: a shard whose documents are the same (a template,
    layout or page-size edit, a role or a context link changed, another shard's briefing edited)
    is not indexed again. In memory for `serve` (the files' bytes). For `build`, on disk: each
    bundle's files in `folder/<key>/`, which the site's copies are hard links to (creating
    thousands of files is most of the cost of writing a bundle); `folder` is named after the
    code's version, and bundles made by other code are deleted."""

    folder: Path | None = None
    entries: dict[str, Mapping[str, bytes | Path]] = field(default_factory=dict)

    MANIFEST = ".files.json"  # {name: size} of a complete bundle folder

    def get(self, key: str) -> Mapping[str, bytes | Path] | None:
        """The bundle's files: bytes, or on disk the path of each (to link or copy)."""
        if key not in self.entries and self.folder is not None:
            found = self._read(self.folder / key)
            if found is None:
                return None
            self.entries[key] = found
        return self.entries.get(key)

    def _read(self, bundle: Path) -> dict[str, Path] | None:
        try:
            sizes = json.loads((bundle / self.MANIFEST).read_text(encoding="utf-8"))
            files = {name: bundle / name for name in sizes}
            if all(path.stat().st_size == sizes[name] for name, path in files.items()):
                return files
        except Exception:  # a missing, damaged or foreign folder is a miss, never an error
            pass
        return None

    def put(self, key: str, files: dict[str, bytes]) -> None:
        self.entries[key] = files
        if self.folder is None or not all(map(safe_name, files)):  # a bad name: write_index says so
            return
        with contextlib_suppress():  # a cache that cannot be written is only slower
            self.folder.mkdir(parents=True, exist_ok=True)
            same = self._same_sizes(files)
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.folder))
            try:
                made: set[str] = set()
                for name, data in files.items():
                    target = f"{tmp}/{name}"
                    parent = target.rpartition("/")[0]
                    if parent not in made:
                        os.makedirs(parent, exist_ok=True)
                        made.add(parent)
                    if not link_if_same(same.get(name), data, target):
                        with open(target, "wb") as handle:
                            handle.write(data)
                (tmp / self.MANIFEST).write_text(json.dumps({n: len(d) for n, d in sorted(files.items())}),
                                                 encoding="utf-8")
                if (self.folder / key).exists():  # damaged: _read did not take it
                    shutil.rmtree(self.folder / key)
                os.replace(tmp, self.folder / key)  # whole or not at all
                self.entries[key] = {name: self.folder / key / name for name in files}
            finally:
                shutil.rmtree(tmp, ignore_errors=True)

    def _same_sizes(self, files: Mapping[str, bytes]) -> dict[str, str]:
        """For each of `files`, a file of that name and size in a bundle kept already, if any. An edit
        changes one of a shard's 1,000 fragments (each named by a hash of its content): the rest are
        linked from the shard's last bundle, not created again (a third of a millisecond each here)."""
        same: dict[str, str] = {}
        with contextlib_suppress():
            for bundle in os.scandir(self.folder):
                if bundle.name.startswith(".") or not bundle.is_dir(follow_symlinks=False):
                    continue
                try:
                    sizes = json.loads(read_file(f"{bundle.path}/{self.MANIFEST}"))
                except (OSError, ValueError):
                    continue
                if not isinstance(sizes, dict):
                    continue
                for name, data in files.items():
                    if name not in same and sizes.get(name) == len(data):
                        same[name] = f"{bundle.path}/{name}"
        return same

    def keep_only(self, keys: set[str]) -> None:
        """Forget the bundles of shards the last build did not use."""
        for key in set(self.entries) - keys:
            del self.entries[key]
        if self.folder is None:
            return
        with contextlib_suppress():
            for old in self.folder.iterdir():
                if old.name not in keys:
                    # Into the cache's trash, deleted by a detached process: a bundle is 1,000 files.
                    if not (old.is_dir() and discard(old, self.folder.parent / KEPT)):
                        shutil.rmtree(old) if old.is_dir() else old.unlink()
        with contextlib_suppress():
            for old in self.folder.parent.glob("search-*"):  # made by other code
                if old != self.folder:
                    shutil.rmtree(old) if old.is_dir() else old.unlink()


def safe_name(name: str) -> bool:
    """Whether a bundle's file `name` stays inside its folder (`search._write_bundle` checks it too)."""
    parts = [part for part in name.split("/") if part not in ("", ".")]
    return bool(parts) and not name.startswith("/") and ".." not in parts and "\\" not in name


def link_if_same(path: str | None, data: bytes, target: str) -> bool:
    """Hard-link `target` to the file `path` when it holds `data`; whether it did."""
    if path is None:
        return False
    try:
        if read_file(path, len(data) + 1) != data:
            return False
        os.link(path, target)
    except OSError:
        return False
    return True


# --- checked briefings, from the cache or checked again ------------------------------------------


def folder_key(folder: Path, base: bytes) -> str:
    """The content hash of one briefing folder: what its check depends on besides `base`."""
    digest = hashlib.sha256(base + b"\0slug\0" + folder.name.encode())  # the slug is in the model
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        digest.update(f"unreadable {exc.errno}".encode())
        return digest.hexdigest()
    for entry in entries:
        kind = "link" if entry.is_symlink() else "dir" if entry.is_dir() else "file" if entry.is_file() else "other"
        digest.update(f"\0{entry.name}\0{kind}\0".encode())
        if kind == "file" and entry.name in ARTICLE_AND_ANNOTATIONS:
            try:
                info = entry.stat()
                # A file over the loader's limit is refused without being read: hash its stat only.
                data = f"too large {info.st_size} {info.st_mtime_ns} {info.st_ino}".encode() \
                    if info.st_size > MAX_ARTICLE_BYTES else Path(entry.path).read_bytes()
            except OSError as exc:
                data = f"unreadable {exc.errno}".encode()
            digest.update(len(data).to_bytes(8, "big") + hashlib.sha256(data).digest())
    return digest.hexdigest()


def folder_signature(path: str, base: bytes, listed: list | None = None) -> tuple | None:
    """What `folder_key` reads of a folder, by stat: ((base, each entry's name and kind, and the
    size, mtime, ctime and inode of the article and annotations), the newest of those times);
    None when it cannot be listed. `listed`: its entries as `fingerprint` found them (name, lstat)."""
    if listed is not None:
        return _listed_signature(listed, base)
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError:
        return None
    parts: list = [base]
    newest = 0
    for entry in entries:
        kind = "link" if entry.is_symlink() else "dir" if entry.is_dir() else "file" if entry.is_file() else "other"
        parts.append((entry.name, kind))
        if kind == "file" and entry.name in ARTICLE_AND_ANNOTATIONS:
            try:
                info = entry.stat()
            except OSError:
                return None
            parts.append((info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino))
            newest = max(newest, info.st_mtime_ns, info.st_ctime_ns)
    return tuple(parts), newest


def _listed_signature(listed: list, base: bytes) -> tuple | None:
    """`folder_signature` from (name, lstat) pairs: the kinds as DirEntry tells them (a link
    first), a file's stat being its lstat."""
    parts: list = [base]
    newest = 0
    for name, info in listed:
        mode = info.st_mode
        kind = "link" if stat.S_ISLNK(mode) else "dir" if stat.S_ISDIR(mode) else \
            "file" if stat.S_ISREG(mode) else "other"
        parts.append((name, kind))
        if kind == "file" and name in ARTICLE_AND_ANNOTATIONS:
            parts.append((info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino))
            newest = max(newest, info.st_mtime_ns, info.st_ctime_ns)
    return tuple(parts), newest


def check_folder(folder: Path, src: Path, src_display: str, registry: Registry, renderer: Renderer) -> Entry:
    """Load and check one briefing folder on its own (what `build_model` does for each)."""
    report = Report()
    raw = load_briefing(folder, src, src_display, report)
    checked = BriefingChecker(registry, renderer).check(raw) if raw is not None else None
    briefing = checked.briefing if checked is not None else None
    if briefing is not None:
        checked = replace(checked, claims=check_briefing_speakers(raw, briefing, report))
    return tuple(report.items), checked, briefing_document(briefing) if briefing is not None else None


def build_model_cached(src: Path, src_display: str, options: Options, report: Report, store: Store,
                       check_all: Callable[..., list[Entry]] | None = None,
                       progress: Callable[[int, int], None] | None = None,
                       loaded: Callable[[], None] | None = None,
                       search: dict[str, Document] | None = None,
                       slugs: dict[str, str] | None = None) -> Site:
    """`validation.build_model(load_content(...))`, checking again only the briefings that changed.

    `check_all(folders, registry, done)` checks the folders that missed the cache (in parallel, say),
    telling `done(count)` as it goes; `progress(done, total)` counts the cached ones as done;
    `loaded()` is told when the files are read and the cache looked up (the end of the load stage);
    `search`, when given, receives each briefing's search document by slug (see `search_records`);
    `slugs`, each folder's content hash by name (`reuse.py` keys the outputs with them)."""
    site_yaml, actors_yaml = load_settings(src, src_display, report)
    config = check_config(RawContent(site_yaml, None, ()), options, report)
    registry = check_registry(RawContent(None, actors_yaml, ()), report)
    folders = content_folders(src, src_display, report)
    registry_bytes = actors_yaml[0].text.encode("utf-8") if actors_yaml is not None else b"\0none"
    base = hashlib.sha256(b"\0".join([code_version().encode(), registry_bytes, src_display.encode(),
                                      str(src).encode(), src.resolve().name.encode()])).digest()
    key_of = getattr(store, "key", folder_key)  # serve's store hashes again only the folders that changed
    keys = [key_of(folder, base) for folder in folders]
    if slugs is not None:
        slugs.update((folder.name, key) for folder, key in zip(folders, keys))
    entries: list[Entry | None] = [store.get(key) for key in keys]
    missing = [i for i, entry in enumerate(entries) if entry is None]
    if loaded is not None:
        loaded()
    if missing:
        hits = len(folders) - len(missing)
        tell = (lambda done: progress(hits + done, len(folders))) if progress is not None else None
        if tell is not None:
            tell(0)
        if check_all is None:
            renderer = Renderer()
            fresh = []
            for i in missing:
                fresh.append(check_folder(folders[i], src, src_display, registry, renderer))
                if tell is not None:
                    tell(len(fresh))
        else:
            fresh = check_all([folders[i] for i in missing], registry, tell)
        for i, entry in zip(missing, fresh):
            entries[i] = entry
            store.put(keys[i], entry)
    store.keep_only(set(keys))
    if progress is not None:
        progress(len(folders), len(folders))
    checked = []
    for diagnostics, result, found in entries:
        report.extend(diagnostics)
        if result is not None:
            checked.append(result)
            if search is not None and result.briefing is not None:
                search[result.briefing.slug] = found
    for result in checked:
        report.extend(result.diagnostics)
    check_inline_actors(checked, report)
    check_conflicts((claim for result in checked for claim in result.claims), report)
    briefings = [result.briefing for result in checked if result.briefing is not None]
    return make_site(config, [b for b in briefings if options.drafts or not b.draft])


def search_records(site: Site, by_slug: dict[str, Document]) -> tuple[Item, ...]:
    """`search.records(site)`, with each briefing's document as the cache kept it."""
    return (*(by_slug[b.slug] for b in site.briefings), *actor_records(site))


# --- the fingerprint of a whole build ----------------------------------------------------------


@dataclass(frozen=True)
class Fingerprint:
    inputs: str      # digest of the stat of every input file, the options and the code
    started_ns: int  # wall-clock time the scan started
    newest_ns: int   # the newest mtime among the inputs


def fingerprint(folders: list[Path], settings: tuple, listings: dict | None = None) -> Fingerprint:
    """Stat every file under `folders` (content, templates), with the options and the code.

    `listings`, when given, receives each folder's entries with their stat (`folder_signature`
    reads a briefing folder's there instead of listing it again)."""
    started = time.time_ns()
    parts = [repr(settings), code_version()]
    newest = 0
    for root in folders:
        parts.append(f"root {root.resolve()}")
        newest = max(newest, _walk(str(root), "", parts, listings))
    digest = hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()
    return Fingerprint(digest, started, newest)


def _walk(top: str, rel: str, parts: list[str], listings: dict | None) -> int:
    """`fingerprint`'s scan of the folder `top` (its path `rel` in the root), into `parts` and
    `listings`; returns the newest mtime in it. A function, not a closure: a recursive closure refers
    to itself, a cycle that kept `parts` and `listings` (35 MB at 10,000 briefings) until a full
    collection, which a build (collector paused, then frozen) never ran."""
    try:
        entries = sorted(os.scandir(top), key=lambda e: e.name)
    except OSError as exc:
        parts.append(f"{rel}\0unreadable {exc.errno}")
        return 0
    newest = 0
    listed: list | None = [] if listings is not None else None
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            listed = None  # vanished meanwhile: listed again when needed
            continue
        if listed is not None:
            listed.append((entry.name, st))
        newest = max(newest, st.st_mtime_ns)
        parts.append(f"{rel}{entry.name}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}"
                     f"\0{st.st_mode}")
        if entry.is_dir(follow_symlinks=False):
            newest = max(newest, _walk(entry.path, f"{rel}{entry.name}/", parts, listings))
    if listed is not None:
        listings[top] = listed
    return newest


def output_state(out: Path) -> str:
    """The output folder as the last build left it (each build writes a new marker file)."""
    try:
        marker = os.lstat(out / MARKER)
        return f"{marker.st_ino} {marker.st_mtime_ns} {os.lstat(out).st_ino}"
    except OSError:
        return "none"


def prune(folder: Path, out: Path) -> None:
    """Note which output folder `folder` serves, and delete the caches of output folders that no
    longer exist (each has a folder beside this one): the cache stays the size of the live sites."""
    note_output(folder, out)
    for sibling in folder.parent.iterdir():
        if sibling == folder or not (sibling / "output.txt").is_file():
            continue
        try:
            gone = not Path((sibling / "output.txt").read_text(encoding="utf-8")).exists()
        except (OSError, UnicodeDecodeError):
            continue
        # Not while a build makes that output again (its lock), or reads that cache (its entries').
        if gone and not is_locked(sibling / "lock") and not is_locked(sibling / "entries.lock"):
            shutil.rmtree(sibling, ignore_errors=True)


def note_output(folder: Path, out: Path) -> None:
    """Note in `folder` which output folder it serves, for `prune`, once that folder exists."""
    note = folder / "output.txt"
    if not note.is_file() and out.exists():
        write_atomically(note, str(out.resolve()).encode())


def last_build(folder: Path, out: Path) -> Path:
    """Where the fingerprint of the last build into `out` is kept."""
    return folder / f"last-build-{hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]}.pickle"


def unchanged(folder: Path, now: Fingerprint, out: Path):
    """The report stored by the last build when nothing changed since; else None."""
    try:
        stored, output, result = pickle.loads(last_build(folder, out).read_bytes())
    except Exception:
        return None
    if stored.inputs != now.inputs or output != output_state(out):
        return None
    if now.newest_ns >= stored.started_ns - int(RACY_SECONDS * 1e9):
        return None  # a file changed too close to that build for its stat to be trusted
    return result


def remember(folder: Path, before: Fingerprint, out: Path, result) -> None:
    """Store the fingerprint taken before a successful build, the output it wrote, and its report."""
    write_atomically(last_build(folder, out), pickle.dumps((before, output_state(out), result)))
