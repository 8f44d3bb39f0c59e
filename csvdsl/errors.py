"""Errors a user or a model can cause: one root, one subclass per phase, each with a code,
a position, a message and a hint, rendered with the source line and a caret."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Span:
    """A region of source text; lines and columns are 1-based, ``end_column`` exclusive."""

    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None

    @classmethod
    def of(cls, meta) -> "Span | None":
        """The span of a Lark tree's ``meta`` or a token, if it has a position."""
        line = getattr(meta, "line", None)
        if line is None:
            return None
        return cls(line, meta.column, getattr(meta, "end_line", None), getattr(meta, "end_column", None))


def source_lines(text: str) -> list[str]:
    """The lines of program text as spans count them: split at line feeds only (str.splitlines
    also splits at U+2028, form feeds and more, which a string constant may hold), a carriage
    return before one dropped, and no empty line after a final line feed."""
    lines = text.split("\n")
    if len(lines) > 1 and not lines[-1]:
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


class DslError(Exception):
    """Root of every error a program or its data can cause."""

    phase = "error"

    def __init__(
        self,
        code: str,
        message: str,
        *,
        span: Span | None = None,
        hint: str | None = None,
        source: str | None = None,
        file: str | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.span = span
        self.hint = hint
        self.source = source
        self.file = file

    @property
    def line(self) -> int | None:
        return self.span.line if self.span else None

    @property
    def column(self) -> int | None:
        return self.span.column if self.span else None

    def with_source(self, source: str, file: str | None = None) -> "DslError":
        """Attach the program text (kept if already set) so the error can show its line."""
        if self.source is None:
            self.source = source
        if self.file is None:
            self.file = file
        return self

    def caret(self) -> str:
        """The offending source line with a caret under the span, or '' without a position."""
        if not self.span or self.source is None:
            return ""
        lines = source_lines(self.source)
        if not 1 <= self.span.line <= len(lines):
            return ""
        text = lines[self.span.line - 1].expandtabs(1)
        start = max(self.span.column - 1, 0)
        end = self.span.end_column - 1 if self.span.end_line == self.span.line and self.span.end_column else start + 1
        width = max(end - start, 1)
        gutter = f"{self.span.line} | "
        return f"{gutter}{text}\n{' ' * len(gutter)}{' ' * start}{'^' * width}"

    def render(self) -> str:
        """The full human-readable message: where, what, the caret, and the hint."""
        where = self.file or "program"
        if self.span:
            where += f":{self.span.line}:{self.span.column}"
        out = [f"{where}: {self.phase} error [{self.code}]: {self.message}"]
        caret = self.caret()
        if caret:
            out.append(caret)
        if self.hint:
            out.append(f"hint: {self.hint}")
        return "\n".join(out)

    def to_dict(self) -> dict:
        """The JSON form used by ``--format json``."""
        return {
            "code": self.code,
            "message": self.message,
            "line": self.line,
            "column": self.column,
            "hint": self.hint,
        }

    def __str__(self) -> str:
        return self.render()


class ParseError(DslError):
    """The text is not a program of the grammar."""

    phase = "syntax"


class CheckError(DslError):
    """The program names something that does not exist, or mixes types."""

    phase = "check"


class ExecutionError(DslError):
    """Running a checked program failed on the data."""

    phase = "execution"


class LimitError(ExecutionError):
    """A program exceeded a configured limit (rows, time, size)."""

    phase = "limit"


class DataError(DslError):
    """An input file cannot be read as a table."""

    phase = "data"


def internal_error(error: BaseException) -> ExecutionError:
    """A bug in csvdsl, reported as an error value instead of a traceback."""
    return ExecutionError("internal", f"{type(error).__name__}: {error}",
                          hint="this is a bug in csvdsl; please report the program and data")


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to ``name`` (case-insensitive first), or None."""
    candidates = list(dict.fromkeys(candidates))
    lowered = {c.lower(): c for c in candidates}
    if name.lower() in lowered:
        return lowered[name.lower()]
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if close:
        return close[0]
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def name_hint(name: str, candidates: Iterable[str], what: str = "columns", limit: int = 20) -> str:
    """A hint for an unknown name: the closest match and what is available."""
    candidates = list(candidates)
    parts = []
    best = did_you_mean(name, candidates)
    if best is not None:
        typed = quote_name(best)
        parts.append(f"did you mean {typed if typed.startswith('`') else f'`{typed}`'}?")
    shown = ", ".join(quote_name(c) for c in candidates[:limit])
    more = f", ... ({len(candidates) - limit} more)" if len(candidates) > limit else ""
    parts.append(f"available {what}: {shown}{more}" if candidates else f"no {what} are available")
    return " ".join(parts)


_NAME_ESCAPES = str.maketrans({"\\": "\\\\", "`": "\\`", "\n": "\\n", "\t": "\\t", "\r": "\\r"})


def quote_name(name: str) -> str:
    """A name as it must be typed in a program: backticks when it is not a plain identifier,
    with ``\\n \\t \\r \\` \\\\`` escapes inside them, so every header can be written."""
    from csvdsl.grammar import is_plain_name

    return name if is_plain_name(name) else "`" + name.translate(_NAME_ESCAPES) + "`"
