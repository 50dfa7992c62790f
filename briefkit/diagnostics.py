"""Diagnostics: one type, one message grammar, one exception hierarchy."""

from __future__ import annotations

import difflib
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

ERROR = "error"
WARNING = "warning"


# Characters that reorder the text after them (embeddings, overrides, isolates): the
# "Trojan Source" characters. Never printed raw to a terminal.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
BIDI_ESCAPES = {ord(ch): f"\\u{ord(ch):04x}" for ch in BIDI_CONTROLS}


# Joiners and direction marks are part of how Persian, Arabic or emoji are written: kept.
WRITING_MARKS = frozenset("\u200c\u200d\u200e\u200f")
EXCERPT_WIDTH = 120  # longer excerpt lines are cut to a window around the caret


def invisible(ch: str) -> bool:
    """A character that shows nothing, or reorders what follows: spelled out in messages."""
    return ch in BIDI_CONTROLS or (unicodedata.category(ch) == "Cf" and ch not in WRITING_MARKS)


def visible(text: str) -> str:
    """`text` with invisible characters spelled out as <U+202E>, so a message shows what is
    wrong and cannot reorder itself on the terminal."""
    return "".join(LINE_BREAKS.get(ch) or (f"<U+{ord(ch):04X}>" if (not ch.isascii() and invisible(ch))
                                            or (ord(ch) < 32 and ch != "\t") or ord(ch) == 127 else ch)
                   for ch in text)


# A message stays on its line: line breaks inside quoted content are written as escapes.
LINE_BREAKS = {"\n": "\\n", "\r": "\\r"}


def excerpt_window(excerpt: str, column: int) -> tuple[str, int]:
    """A long line cut to EXCERPT_WIDTH characters around `column`, and the caret's new column."""
    if len(excerpt) <= EXCERPT_WIDTH:
        return excerpt, column
    start = max(0, min(column - 1 - EXCERPT_WIDTH // 2, len(excerpt) - EXCERPT_WIDTH))
    cut = excerpt[start:start + EXCERPT_WIDTH]
    if start:
        cut, column = "\u2026" + cut[1:], column - start
    if start + EXCERPT_WIDTH < len(excerpt):
        cut = cut[:-1] + "\u2026"
    return cut, column


@dataclass(frozen=True)
class Position:
    """A place in a source file: display path, 1-based line and column."""

    path: str
    line: int = 1
    column: int = 1


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in the content, with where it is and how to fix it."""

    path: str
    line: int
    column: int
    severity: str
    code: str
    message: str
    hint: str | None = None
    excerpt: str | None = None

    @property
    def sort_key(self) -> tuple:
        return (self.path, self.line, self.column, self.severity, self.message)

    def to_json(self) -> str:
        """One JSON object: path, line, column, severity, code, message, hint."""
        text = json.dumps({"path": self.path, "line": self.line, "column": self.column,
                           "severity": self.severity, "code": self.code, "message": self.message,
                           "hint": self.hint}, ensure_ascii=False)
        # The same JSON, with bidi controls escaped so the line cannot reorder itself on a terminal.
        return text.translate(BIDI_ESCAPES)

    def to_github(self) -> str:
        """A GitHub Actions workflow command that annotates the file in a pull request."""
        def escape(value: str, in_property: bool = False) -> str:
            value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            return value.replace(":", "%3A").replace(",", "%2C") if in_property else value
        text = self.message + (f"\nhint: {self.hint}" if self.hint else "")
        return (f"::{self.severity} file={escape(self.path, True)},line={self.line},col={self.column},"
                f"title={escape(self.code, True)}::{escape(text)}")

    def format(self) -> str:
        """Render as `path:line:column: severity: message`, excerpt, caret and hint."""
        lines = [f"{self.path}:{self.line}:{self.column}: {self.severity}: {visible(self.message)}"]
        if self.excerpt is not None and self.excerpt.strip():
            # One character per column: tabs as one space, invisible characters as U+FFFD.
            shown, column = excerpt_window(self.excerpt.expandtabs(1), self.column)
            shown = "".join("\ufffd" if ((ord(ch) < 32 or ord(ch) == 127) and ch != "\t")
                            or (not ch.isascii() and invisible(ch)) else ch for ch in shown)
            lines.append(f"    {shown}")
            lines.append("    " + " " * max(0, column - 1) + "^")
        if self.hint:
            lines.extend(f"    hint: {visible(part)}" if i == 0 else f"          {visible(part)}"
                         for i, part in enumerate(self.hint.splitlines()))
        return "\n".join(lines)


class SourceFile:
    """A text file of the content folder, able to make diagnostics that point into it."""

    def __init__(self, display_path: str, text: str):
        self.path = display_path
        self.text = text
        self._lines: list[str] | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines

    def line_text(self, line: int) -> str | None:
        if 1 <= line <= len(self.lines):
            return self.lines[line - 1]
        return None

    def at(self, line: int = 1, column: int = 1) -> Position:
        return Position(self.path, line, column)

    def diagnostic(self, severity: str, code: str, message: str, pos: Position | None = None,
                   hint: str | None = None) -> Diagnostic:
        pos = pos or self.at()
        return Diagnostic(self.path, pos.line, pos.column, severity, code, message, hint,
                          self.line_text(pos.line) if pos.path == self.path else None)


class Report:
    """Collects diagnostics of one run; the stages add to it, the CLI prints it."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.items.extend(diagnostics)

    def error(self, source: SourceFile, code: str, message: str, pos: Position | None = None,
              hint: str | None = None) -> None:
        self.add(source.diagnostic(ERROR, code, message, pos, hint))

    def warning(self, source: SourceFile, code: str, message: str, pos: Position | None = None,
                hint: str | None = None) -> None:
        self.add(source.diagnostic(WARNING, code, message, pos, hint))

    def at(self, severity: str, code: str, message: str, pos: Position, hint: str | None = None,
           excerpt: str | None = None) -> None:
        """Add a diagnostic for a position whose source text is not at hand."""
        self.add(Diagnostic(pos.path, pos.line, pos.column, severity, code, message, hint, excerpt))

    def sorted(self) -> list[Diagnostic]:
        unique = {d: None for d in self.items}
        return sorted(unique, key=lambda d: d.sort_key)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == WARNING]


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """A hint naming the closest choice, or listing them all."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "expected one of: " + ", ".join(sorted(choices))


def display_path(root_display: str, root: Path, path: Path) -> str:
    """The path as the author would type it: the --src spelling joined with the relative part."""
    rel = path.relative_to(root).as_posix()
    if root_display in ("", "."):
        return rel
    return f"{root_display.rstrip('/')}/{rel}"


class BriefkitError(Exception):
    """Base of every error the CLI maps to an exit code."""

    exit_code = 1


class ContentError(BriefkitError):
    """The content has errors (or warnings under --strict): exit 1."""

    exit_code = 1

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(f"{len(diagnostics)} problem(s) in the content")
        self.diagnostics = diagnostics


class UsageError(BriefkitError):
    """The command line or the environment is wrong: exit 2."""

    exit_code = 2
