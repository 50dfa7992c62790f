"""Walk the content folder, read its files and compose YAML into nodes with positions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from .diagnostics import Position, Report, SourceFile, display_path
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
    article: SourceFile
    article_format: str  # "md" or "txt"
    media: tuple[tuple[str, Path], ...]


@dataclass(frozen=True)
class RawContent:
    """Everything read from the content folder."""

    site: tuple[SourceFile, Node | None] | None
    actors: tuple[SourceFile, Node | None] | None
    briefings: tuple[RawBriefing, ...]


def read_source(path: Path, display: str, report: Report) -> SourceFile | None:
    """Read a UTF-8 file (a BOM is allowed); bad bytes are an error with their line."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        report.at("error", "encoding", f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                  Position(display, line, column), "save the file as UTF-8")
        return None
    return SourceFile(display, text.replace("\r\n", "\n").replace("\r", "\n"))


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


def parse_yaml(source: SourceFile, report: Report) -> Node | None:
    """Compose one YAML document into nodes; None after reporting a syntax error or an alias."""
    try:
        root = yaml.compose(source.text, Loader=YAML_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        hint = "indent with spaces, not tabs" if "\\t" in problem or "tab" in problem else \
            "check the indentation and quoting on this line or the one before"
        report.error(source, "yaml-syntax", f"invalid YAML: {problem}", source.at(line, column), hint)
        return None
    except yaml.YAMLError as exc:  # e.g. a second document in the file
        report.error(source, "yaml-syntax", f"invalid YAML: {exc}")
        return None
    except RecursionError:
        report.error(source, "yaml-syntax", "invalid YAML: nesting too deep")
        return None
    if root is not None and shared_nodes(root):
        for token in yaml.scan(source.text, Loader=YAML_LOADER):
            if isinstance(token, yaml.AliasToken):
                mark = token.start_mark
                report.error(source, "yaml-alias", f"YAML aliases are not supported (*{token.value})",
                             source.at(mark.line + 1, mark.column + 1), "write the value out in full")
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
            report.at("warning", "unused-file", f"'{name}' is not used",
                      Position(show(path)), "a briefing folder holds the article, annotations.yaml and images ("
                      + ", ".join(sorted(MEDIA_SUFFIXES)) + "); start the name with _ to silence this")
    for name in [*articles, "annotations.yaml"]:
        if (folder / name).is_symlink():
            report.at("error", "symlink", "symbolic links are not followed", Position(show(folder / name)),
                      "copy the file into the folder instead")
            ok = False
    if not ok:
        return None
    annotations = load_yaml_file(folder / "annotations.yaml", show(folder / "annotations.yaml"), report)
    article = read_source(folder / articles[0], show(folder / articles[0]), report)
    if annotations is None or annotations[1] is None or article is None:
        return None
    return RawBriefing(folder.name, annotations[0], annotations[1], article,
                       "md" if articles[0].endswith(".md") else "txt", tuple(media))


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
