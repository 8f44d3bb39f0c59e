"""Precise reports for a CSV file Arrow would not read: the first bad record, found with the
csv module (which knows the line each record starts on), shown with its line and a caret."""

from __future__ import annotations

import csv
import io

from csvdsl.errors import DataError, Span


def diagnose(text: str, delimiter: str, shown: str, strict: bool = True) -> None:
    """Raise for the first bad record, found with the csv module, which knows the line each record
    starts on; return if it finds none."""
    escaped = '\\"' in text and '""' not in text  # as _backslash_escaped
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict,
                        **({"escapechar": "\\", "doublequote": False} if escaped else {}))
    width = None
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise DataError(
                    "csv-unterminated-quote",
                    f"a quoted field in {shown} starting on line {start} is never closed",
                    span=Span(start, 1),
                    hint='add the closing double quote; a quote inside a quoted field is written ""',
                    file=shown,
                    source=source_line(text, start),
                ) from None
            if strict:
                # A stray quote inside a field, which arrow reads leniently: look again leniently
                # for the problem arrow did report.
                return diagnose(text, delimiter, shown, strict=False)
            return
        if not row:
            continue
        if width is None:
            width = len(row)
        elif len(row) != width:
            raise _ragged(text, delimiter, shown, start, len(row), width)


def _ragged(text: str, delimiter: str, shown: str, line: int, got: int, want: int) -> DataError:
    source = source_line(text, line)
    physical = source.rsplit("\n", 1)[-1]
    starts = field_starts(physical, delimiter)
    if got > want:
        column = starts[want] if want < len(starts) else 1
        fields = "fields" if got - want > 1 else "field"
        hint = f"remove the extra {fields}, or quote fields that contain {_show_delimiter(delimiter)}"
        if physical.rstrip("\r\n").endswith(delimiter):
            hint += " (the row ends with a delimiter)"
        if '\\"' in physical:
            hint += ("; a backslash before a quote does not escape it in a file that also doubles quotes: "
                     'write a quote inside a quoted field as ""')
    else:
        column = len(physical.rstrip("\r\n")) + 1
        hint = "add the missing fields (an empty field is written as nothing between two delimiters)"
        if not physical.strip():
            hint = "the line holds only whitespace; delete it"
    return DataError(
        "csv-ragged",
        f"line {line} of {shown} has {got} field{'s' if got != 1 else ''}, but the header has {want}",
        span=Span(line, column),
        hint=hint,
        file=shown,
        source=source,
    )


def source_line(text: str, line: int) -> str:
    # DslError.caret() shows line N of ``source``; padding with empty lines shows the CSV line
    # without keeping a copy of a possibly huge file in the exception.
    lines = io.StringIO(text, newline="")
    for number, physical in enumerate(lines, start=1):
        if number == line:
            return "\n" * (line - 1) + physical.rstrip("\r\n")
    return ""


def field_starts(line: str, delimiter: str) -> list[int]:
    """1-based columns where each field of one physical line starts (quote-aware)."""
    starts, quoted = [1], False
    for index, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            starts.append(index + 2)
    return starts


def _show_delimiter(delimiter: str) -> str:
    return {"\t": "a tab", ",": "a comma", ";": "a semicolon", "|": "a pipe"}.get(delimiter, repr(delimiter))
