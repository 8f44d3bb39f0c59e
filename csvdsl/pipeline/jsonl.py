"""Durable JSONL files for long jobs: each line appended and synced as it is made; a last line
cut off by a kill removed by the file's writer before it appends again (readers skip it and
never write); lines read one at a time, so a file of any length costs one line of memory."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

from csvdsl.errors import DataError, Span


def append_line(path: Path, line: str) -> None:
    """Append one line and sync it: a killed run keeps every line written before."""
    with open(path, "a", encoding="utf-8") as sink:
        sink.write(line + "\n")
        sink.flush()
        os.fsync(sink.fileno())


def repair(path: Path) -> None:
    """Cut a last line that a kill left unfinished (it has no newline)."""
    if not path.exists():
        return
    with open(path, "rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        # Walk back to the last newline in blocks; keep everything up to it.
        position = size
        while position > 0:
            start = max(0, position - (1 << 16))
            handle.seek(start)
            block = handle.read(position - start)
            cut = block.rfind(b"\n")
            if cut >= 0:
                handle.truncate(start + cut + 1)
                return
            position = start
        handle.truncate(0)


def rows(path: Path) -> Iterator[dict]:
    """The JSON objects of a file, one at a time; an unfinished last line (no newline yet:
    cut off by a kill, or being written) is skipped. A damaged line elsewhere raises
    ``DataError("jsonl-damaged")`` with the file and the line. Never writes."""
    if not path.exists():
        return
    with open(path, encoding="utf-8", errors="surrogateescape") as source:
        for number, line in enumerate(source, start=1):
            if line.endswith("\n") and line.strip():
                row = _parse(line)
                if row is None:
                    raise DataError("jsonl-damaged", f"line {number} of {path} is not a JSON object", file=str(path),
                                    span=Span(number, 1), hint="run the command again with --repair to drop the line "
                                    "(generate makes its task again; solve its attempt)")
                yield row


def _parse(line: str) -> dict | None:
    try:
        row = json.loads(line)
    except ValueError:  # JSONDecodeError, or bytes that are not UTF-8
        return None
    return row if isinstance(row, dict) else None


def drop_damaged(path: Path) -> int:
    """Rewrite a file without its damaged lines (atomically); returns how many were dropped."""
    if not path.exists():
        return 0
    repair(path)
    dropped = 0
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(path, encoding="utf-8", errors="surrogateescape") as source, \
            open(temporary, "w", encoding="utf-8", errors="surrogateescape") as sink:
        for line in source:
            if not line.strip():
                continue
            if _parse(line) is None:
                dropped += 1
                continue
            sink.write(line)
        sink.flush()
        os.fsync(sink.fileno())
    temporary.replace(path)
    return dropped
