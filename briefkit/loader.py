"""Walk the content folder, read its files and compose YAML into nodes with positions."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from .diagnostics import Diagnostic, Position, Report, SourceFile, display_path
from .schema import SLUG_RE, slug_suggestion

MEDIA_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif"})
ARTICLE_NAMES = ("article.md", "article.txt")
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


def read_source(path: Path, display: str, report: Report) -> SourceFile | None:
    """Read a UTF-8 file (a BOM is allowed); bad bytes are an error with their line."""
    try:
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


def shared_nodes(root: Node) -> bool:
    """True when a node is reachable twice: the document uses YAML aliases."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return True
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return False


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


def parse_yaml(source: SourceFile, report: Report) -> Node | None:
    """Compose one YAML document into nodes; None after reporting a syntax error or an alias."""
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
        report.add(yaml_error(source, exc))
        return None
    except yaml.YAMLError as exc:
        report.error(source, "yaml-syntax", f"invalid YAML: {exc}")
        return None
    except RecursionError:
        report.error(source, "yaml-syntax", "invalid YAML: nesting too deep")
        return None
    if root is not None and shared_nodes(root):
        aliases = [t for t in yaml.scan(source.text, Loader=YAML_LOADER) if isinstance(t, yaml.AliasToken)]
        first = aliases[0].start_mark
        more = f" (and {len(aliases) - 1} more)" if len(aliases) > 1 else ""
        report.error(source, "yaml-alias", f"YAML aliases are not supported (*{aliases[0].value}){more}",
                     source.at(first.line + 1, first.column + 1),
                     "write each value out in full; anchors (&) and aliases (*) are not allowed")
        return None
    return root if root is not None else empty_mapping()


def load_yaml_file(path: Path, display: str, report: Report) -> tuple[SourceFile, Node | None] | None:
    source = read_source(path, display, report)
    if source is None:
        return None
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
    article = read_source(folder / articles[0], show(folder / articles[0]), report)
    if article is not None and not check_control_characters(article, report):
        article = None
    if annotations is None or annotations[1] is None:
        return None
    return RawBriefing(folder.name, annotations[0], annotations[1], article,
                       "md" if articles[0].endswith(".md") else "txt", tuple(media),
                       f"{src.resolve().name}/{folder.name}/annotations.yaml")


def load_content(src: Path, src_display: str, report: Report) -> RawContent:
    """Read the whole content folder in a stable order."""
    show = lambda p: display_path(src_display, src, p)  # noqa: E731
    site = actors = None
    if (src / "site.yaml").is_file():
        site = load_yaml_file(src / "site.yaml", show(src / "site.yaml"), report)
    if (src / "actors.yaml").is_file():
        actors = load_yaml_file(src / "actors.yaml", show(src / "actors.yaml"), report)
    briefings = []
    for entry in sorted(src.iterdir(), key=lambda p: p.name):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir() and not entry.is_symlink():
            raw = load_briefing(entry, src, src_display, report)
            if raw is not None:
                briefings.append(raw)
        elif entry.is_symlink():
            report.at("error", "symlink", "symbolic links are not followed", Position(show(entry)),
                      "copy the folder into the content folder instead")
        elif entry.name not in ("site.yaml", "actors.yaml"):
            hint = "did you mean site.yaml or actors.yaml?" if re.search(r"\.ya?ml$", entry.name) else \
                "the content folder holds site.yaml, actors.yaml and one folder per briefing"
            report.at("warning", "unused-file", f"'{entry.name}' is not used", Position(show(entry)), hint)
    return RawContent(site, actors, tuple(briefings))
