"""Durable JSONL files for long jobs: each line appended and synced as it is made; a last line
cut off by a kill removed by the file's writer before it appends again (readers skip it and
never write); lines read one at a time, so a file of any length costs one line of memory."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator


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
    cut off by a kill, or being written) is skipped. Never writes."""
    if not path.exists():
        return
    with open(path, encoding="utf-8") as source:
        for line in source:
            if line.endswith("\n") and line.strip():
                yield json.loads(line)
