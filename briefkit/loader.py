"""Walk the content folder, read its files and compose YAML into nodes with positions."""

from __future__ import annotations

import difflib
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from .diagnostics import Diagnostic, Position, Report, SourceFile, display_path
from .schema import SLUG_RE, slug_suggestion

MEDIA_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif"})
ARTICLE_NAMES = ("article.md", "article.txt")
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Size limits, checked with stat() before a file is read: a real article is tens of kilobytes and
# its annotations a few; anything far bigger is a mistake (or an attack) and would only be slow.
MAX_ARTICLE_BYTES = 2 * 1024 * 1024
MAX_YAML_BYTES = 1024 * 1024
# The deepest a real file nests is 4 levels (annotations > quotes > quote > value); a limit far
# above that keeps every later stage clear of Python's recursion limit.
MAX_YAML_DEPTH = 50


@dataclass(frozen=True)
class RawBriefing:
    """A briefing folder as read from disk: sources, but nothing checked beyond syntax."""

    slug: str
    annotations: SourceFile
    annotations_node: Node
    article: SourceFile | None  # None when it could not be read (reported)
    article_format: str  # "md" or "txt"
    media: tuple[tuple[str, Path], ...]
    repo_path: str  # content-folder name/slug/annotations.yaml, however --src was spelled


@dataclass(frozen=True)
class RawContent:
    """Everything read from the content folder."""

    site: tuple[SourceFile, Node | None] | None
    actors: tuple[SourceFile, Node | None] | None
    briefings: tuple[RawBriefing, ...]


def size_text(size: int) -> str:
    """A byte count as an author reads it: 52,428,800 bytes (50 MiB)."""
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale:
            return f"{size:,} bytes ({size / scale:.3g} {unit})"
    return f"{size:,} bytes"


def read_source(path: Path, display: str, report: Report, limit: int = MAX_YAML_BYTES) -> SourceFile | None:
    """Read a UTF-8 file of at most `limit` bytes (a BOM is allowed); bad bytes are an error with their line."""
    try:
        size = path.stat().st_size
        if size > limit:
            report.at("error", "too-large", f"the file is {size_text(size)}; the limit is {size_text(limit)}",
                      Position(display), "a briefing's files are text written by people: check that this is "
                      "the right file, or split it")
            return None
        data = path.read_bytes()
    except OSError as exc:
        report.at("error", "unreadable", f"cannot read the file: {exc.strerror or exc}", Position(display),
                  "check the file's permissions")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line_end = data.find(b"\n", exc.start)
        line_bytes = data[line_start: line_end if line_end != -1 else len(data)]
        column = len(data[line_start: exc.start].decode("utf-8", "replace")) + 1
        report.at("error", "encoding", f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                  Position(display, data.count(b"\n", 0, exc.start) + 1, column), "save the file as UTF-8",
                  excerpt=line_bytes.decode("utf-8", "replace").rstrip("\r"))
        return None
    return SourceFile(display, text.replace("\r\n", "\n").replace("\r", "\n"))


CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_control_characters(source: SourceFile, report: Report, shown: int = 20) -> bool:
    """Invisible control characters (other than tab and newline) are errors, each where it is."""
    found = list(CONTROL_RE.finditer(source.text))
    for index, match in enumerate(found[:shown]):
        before = source.text[: match.start()]
        position = source.at(before.count("\n") + 1, match.start() - (before.rfind("\n") + 1) + 1)
        more = f" (and {len(found) - shown} more)" if index == shown - 1 and len(found) > shown else ""
        report.error(source, "control-character", f"control character U+{ord(match.group()):04X} in the text{more}",
                     position, "remove the invisible character at the caret; it usually comes from a copy-paste")
    return not found


EMBEDDINGS = "\u202a\u202b\u202d\u202e"  # closed by U+202C POP DIRECTIONAL FORMATTING
ISOLATES = "\u2066\u2067\u2068"  # closed by U+2069 POP DIRECTIONAL ISOLATE
BIDI_RE = re.compile("[\u202a-\u202e\u2066-\u2069]")


def check_bidi_controls(source: SourceFile, report: Report) -> None:
    """An embedding, override or isolate left open at the end of its line is a warning: it
    shows the text after it in another order than it is stored ("Trojan Source")."""
    if not BIDI_RE.search(source.text):  # the common case: one scan, no lines split
        return
    for number, line in enumerate(source.lines, 1):
        if not BIDI_RE.search(line):
            continue
        open_at: list[int] = []
        for match in BIDI_RE.finditer(line):
            ch = match.group()
            if ch in EMBEDDINGS or ch in ISOLATES:
                open_at.append(match.start())
            elif ch == "\u202c" and open_at and line[open_at[-1]] in EMBEDDINGS:
                open_at.pop()
            elif ch == "\u2069":  # closes the last isolate and any embedding opened inside it
                while open_at and line[open_at.pop()] not in ISOLATES:
                    pass
        for index in open_at:
            ch = line[index]
            closer = "U+2069 (pop directional isolate)" if ch in ISOLATES else "U+202C (pop directional formatting)"
            report.warning(source, "bidi-control", f"unterminated {unicodedata.name(ch).lower()} "
                           f"U+{ord(ch):04X}: the rest of the line shows in another order than it is written",
                           source.at(number, index + 1), f"remove it, or close it on the same line with {closer}")


def node_shape(root: Node) -> tuple[int, Node | None]:
    """How many times a node is reached again (the number of YAML aliases, never expanded), and
    the first node (in document order) nested deeper than MAX_YAML_DEPTH, if any: one walk."""
    seen: set[int] = set()
    again = 0
    deep = None
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            again += 1
            continue
        seen.add(id(node))
        if depth > MAX_YAML_DEPTH and deep is None:
            deep = node
        if isinstance(node, MappingNode):
            stack.extend((child, depth + 1) for pair in reversed(node.value) for child in reversed(pair))
        elif isinstance(node, SequenceNode):
            stack.extend((child, depth + 1) for child in reversed(node.value))
    return again, deep


def deep_mark(text: str) -> yaml.Mark | None:
    """Where the YAML events first go deeper than MAX_YAML_DEPTH. The pure-Python parser keeps
    no recursion and no limit of its own (libyaml stops at 1000 levels, where it stops reading)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    return event.start_mark
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError as exc:
        return getattr(exc, "problem_mark", None)
    return None


def first_alias(text: str) -> yaml.AliasEvent | None:
    """The first alias (*name); the parse stops there."""
    return next((event for event in yaml.parse(text, Loader=YAML_LOADER) if isinstance(event, yaml.AliasEvent)),
                None)


def empty_mapping() -> MappingNode:
    """What an empty YAML file means: a mapping with no keys, at line 1."""
    mark = yaml.Mark("", 0, 0, 0, None, None)
    return MappingNode("tag:yaml.org,2002:map", [], mark, mark)


def yaml_error(source: SourceFile, exc: yaml.MarkedYAMLError) -> Diagnostic:
    """A YAML syntax error as a diagnostic at the place an author would look."""
    problem, context = exc.problem or "", exc.context or ""
    mark = exc.problem_mark or exc.context_mark
    hint = "check the indentation and quoting on this line or the one before"
    if "end of stream" in problem and "quoted scalar" in context and exc.context_mark:
        mark = exc.context_mark
        message = "the quoted text that starts here is never closed"
        quote = source.line_text(mark.line + 1)[mark.column] if source.line_text(mark.line + 1) else '"'
        hint = f"add the closing {quote} at the end of the text, or remove the opening one"
    elif "single document" in context:
        message = f"{context}, {problem}"
        hint = "remove the '---' line: the file must hold a single YAML document"
    else:
        message = problem or context or "syntax error"
        if "\\t" in problem or "tab" in problem:
            hint = "indent with spaces, not tabs"
        elif "mapping values are not allowed" in problem:
            hint = "a value that contains ': ' must be in quotes, e.g. title: \"Talks: the first round\""
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return source.diagnostic("error", "yaml-syntax", f"invalid YAML: {message}", source.at(line, column), hint)


def report_too_deep(source: SourceFile, report: Report, mark: yaml.Mark | None) -> None:
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    report.error(source, "too-deep", f"invalid YAML: nested more than {MAX_YAML_DEPTH} levels deep",
                 source.at(line, column), "a briefing's YAML nests a few levels at most: check the brackets "
                 "and the indentation from here on")


def parse_yaml(source: SourceFile, report: Report) -> Node | None:
    """Compose one YAML document into nodes; None after reporting a syntax error, an alias or
    nesting deeper than MAX_YAML_DEPTH."""
    try:
        root = yaml.compose(source.text, Loader=YAML_LOADER)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        before = source.text[: exc.position]
        line, column = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        report.error(source, "yaml-syntax", f"invalid YAML: unacceptable character #x{exc.character:04x}: "
                     "control characters are not allowed", source.at(line, column),
                     "remove the invisible control character at the caret")
        return None
    except yaml.MarkedYAMLError as exc:
        if "maximum nesting depth" in (exc.problem or ""):  # libyaml's own limit (1000 levels)
            # The place libyaml stopped is 1000 levels down: re-read the text up to there.
            end = exc.problem_mark.index if exc.problem_mark else len(source.text)
            report_too_deep(source, report, deep_mark(source.text[:end]) or exc.problem_mark)
        else:
            report.add(yaml_error(source, exc))
        return None
    except yaml.YAMLError as exc:
        report.error(source, "yaml-syntax", f"invalid YAML: {exc}")
        return None
    except RecursionError:  # the pure-Python composer recurses; its parser does not
        report_too_deep(source, report, deep_mark(source.text))
        return None
    if root is None:
        return empty_mapping()
    aliases, deep = node_shape(root)
    if aliases:
        # The nodes are shared, never copied, so a "billion laughs" costs no more than its text.
        first = first_alias(source.text)
        line, column = (first.start_mark.line + 1, first.start_mark.column + 1) if first else (1, 1)
        more = f" (and {aliases - 1} more)" if aliases > 1 else ""
        report.error(source, "yaml-alias", f"YAML aliases are not supported (*{first.anchor if first else ''}){more}",
                     source.at(line, column),
                     "write each value out in full; anchors (&) and aliases (*) are not allowed")
        return None
    if deep is not None:
        report_too_deep(source, report, deep.start_mark)
        return None
    return root


def load_yaml_file(path: Path, display: str, report: Report) -> tuple[SourceFile, Node | None] | None:
    source = read_source(path, display, report)
    if source is None:
        return None
    check_bidi_controls(source, report)
    return source, parse_yaml(source, report)


def load_briefing(folder: Path, src: Path, src_display: str, report: Report) -> RawBriefing | None:
    """Read one briefing folder: annotations, the article, media; structural problems reported."""
    show = lambda p: display_path(src_display, src, p)  # noqa: E731
    folder_display = show(folder) + "/"
    names = sorted(p.name for p in folder.iterdir())
    articles = [n for n in ARTICLE_NAMES if n in names]
    has_annotations = "annotations.yaml" in names
    ok = True
    if not SLUG_RE.match(folder.name):
        report.at("error", "bad-slug", f"folder name '{folder.name}' is not a valid slug",
                  Position(folder_display), f"rename the folder to '{slug_suggestion(folder.name)}' "
                  "(lower-case letters, digits, hyphens), or start its name with _ to leave it out")
        ok = False
    media: list[tuple[str, Path]] = []
    for name in names:
        path = folder / name
        if name in ARTICLE_NAMES or name == "annotations.yaml" or name.startswith((".", "_")):
            continue
        if path.is_symlink():
            report.at("error", "symlink", "symbolic links are not followed", Position(show(path)),
                      "copy the file into the folder instead")
        elif path.is_file() and path.suffix.lower() in MEDIA_SUFFIXES:
            media.append((name, path))
        else:
            close = difflib.get_close_matches(name.lower(), [*ARTICLE_NAMES, "annotations.yaml"], n=1, cutoff=0.7)
            hint = (f"did you mean '{close[0]}'? rename the file" if close else
                    "a briefing folder holds the article, annotations.yaml and images ("
                    + ", ".join(sorted(MEDIA_SUFFIXES)) + "); start the name with _ to silence this")
            report.at("warning", "unused-file", f"'{name}' is not used", Position(show(path)), hint)
    if not articles and not has_annotations:
        report.at("error", "empty-briefing", "folder has no article and no annotations.yaml",
                  Position(folder_display), "add article.md or article.txt and annotations.yaml, "
                  "or start the folder name with _ to leave it out")
        return None
    if len(articles) == 2:
        report.at("error", "two-articles", "folder has both article.md and article.txt",
                  Position(show(folder / "article.txt")), "keep one of them")
        ok = False
    elif not articles:
        report.at("error", "missing-article", "folder has no article",
                  Position(show(folder / "annotations.yaml")), "add article.md (Markdown) or article.txt (plain text)")
        ok = False
    if not has_annotations:
        report.at("error", "missing-annotations", "folder has no annotations.yaml",
                  Position(show(folder / articles[0])), "add annotations.yaml next to the article")
        ok = False
    for name in [*articles, "annotations.yaml"] if has_annotations else articles:
        if (folder / name).is_symlink():
            report.at("error", "symlink", "symbolic links are not followed", Position(show(folder / name)),
                      "copy the file into the folder instead")
            ok = False
        elif not (folder / name).is_file():
            report.at("error", "not-a-file", f"'{name}' is a folder, not a file", Position(show(folder / name)),
                      f"replace the folder {name} with a file of that name")
            ok = False
    if not ok:
        return None
    annotations = load_yaml_file(folder / "annotations.yaml", show(folder / "annotations.yaml"), report)
    article = read_source(folder / articles[0], show(folder / articles[0]), report, MAX_ARTICLE_BYTES)
    if article is not None and not check_control_characters(article, report):
        article = None
    if article is not None:
        check_bidi_controls(article, report)
    if annotations is None or annotations[1] is None:
        return None
    return RawBriefing(folder.name, annotations[0], annotations[1], article,
                       "md" if articles[0].endswith(".md") else "txt", tuple(media),
                       f"{src.resolve().name}/{folder.name}/annotations.yaml")


def load_settings(src: Path, src_display: str, report: Report) -> tuple[tuple[SourceFile, Node | None] | None, ...]:
    """site.yaml and actors.yaml, each None when absent (or a symbolic link: see `content_folders`)."""
    show = lambda p: display_path(src_display, src, p)  # noqa: E731
    loaded = []
    for name in ("site.yaml", "actors.yaml"):
        path = src / name
        # A symbolic link is reported by `content_folders` and never read: its target may be anywhere.
        loaded.append(load_yaml_file(path, show(path), report) if path.is_file() and not path.is_symlink() else None)
    return loaded[0], loaded[1]


def content_folders(src: Path, src_display: str, report: Report) -> list[Path]:
    """The briefing folders of the content folder in a stable order, reporting what else is there."""
    show = lambda p: display_path(src_display, src, p)  # noqa: E731
    folders = []
    for item in sorted(os.scandir(src), key=lambda e: e.name):  # scandir: no stat per folder
        entry = src / item.name
        if item.name.startswith((".", "_")):
            continue
        if item.is_dir(follow_symlinks=False):
            folders.append(entry)
        elif item.is_symlink():
            report.at("error", "symlink", "symbolic links are not followed", Position(show(entry)),
                      f"copy the {'folder' if entry.is_dir() else 'file'} into the content folder instead")
        elif entry.name not in ("site.yaml", "actors.yaml"):
            hint = "did you mean site.yaml or actors.yaml?" if re.search(r"\.ya?ml$", entry.name) else \
                "the content folder holds site.yaml, actors.yaml and one folder per briefing"
            report.at("warning", "unused-file", f"'{entry.name}' is not used", Position(show(entry)), hint)
    return folders


def load_content(src: Path, src_display: str, report: Report) -> RawContent:
    """Read the whole content folder in a stable order."""
    site, actors = load_settings(src, src_display, report)
    briefings = []
    for folder in content_folders(src, src_display, report):
        raw = load_briefing(folder, src, src_display, report)
        if raw is not None:
            briefings.append(raw)
    return RawContent(site, actors, tuple(briefings))
