"""Durable JSONL files for long jobs: each line appended and synced as it is made; a last line
cut off by a kill removed by the file's writer before it appends again (readers skip it and
never write); lines read one at a time, so a file of any length costs one line of memory.
Every append and every rewrite holds the file's own lock (briefly), so processes sharing a
file (generate, import and solve on one folder) never lose each other's lines."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from csvdsl.errors import DataError, Span


@contextmanager
def locked(path: Path):
    """Hold the exclusive lock of the file now at ``path`` (made if missing), waiting for it;
    yields the file open for appending. A rewrite replaces the file under its lock, so a
    process that waited on the file it replaced opens the new one and waits again."""
    while True:
        handle = open(path, "a", encoding="utf-8", errors="surrogateescape")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            held, now = os.fstat(handle.fileno()), os.stat(path)
        except FileNotFoundError:
            handle.close()  # replaced and not yet there: try again
            continue
        except BaseException:
            handle.close()
            raise
        if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
            break
        handle.close()
    try:
        yield handle
    finally:
        handle.close()  # closing releases the lock


def append_line(path: Path, line: str) -> None:
    """Append one line and sync it: a killed run keeps every line written before."""
    append_lines(path, [line])


def append_lines(path: Path, lines: Iterable[str]) -> int:
    """Append lines under one hold of the lock and one sync; returns how many."""
    count = 0
    with locked(path) as sink:
        for line in lines:
            sink.write(line + "\n")
            count += 1
        sink.flush()
        os.fsync(sink.fileno())
    return count


def repair(path: Path) -> None:
    """Cut a last line that a kill left unfinished (it has no newline); under the file's lock,
    so a line another process is appending now is never taken for one."""
    if not path.exists():
        return
    with locked(path), open(path, "rb+") as handle:
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
    for _, row in numbered_rows(path):
        yield row


def numbered_rows(path: Path) -> Iterator[tuple[int, dict]]:
    """``rows`` with each row's line number, for errors that name the line."""
    if not path.exists():
        return
    with open(path, encoding="utf-8", errors="surrogateescape") as source:
        for number, line in enumerate(source, start=1):
            if line.endswith("\n") and line.strip():
                row = parse_row(line)
                if row is None:
                    raise DataError("jsonl-damaged", f"line {number} of {path} is not a JSON object", file=str(path),
                                    span=Span(number, 1), hint="run the command again with --repair to drop the line "
                                    "(generate makes its task again; solve its attempt)")
                yield number, row


def not_a_row(path: Path, number: int, what: str, detail: str, hint: str) -> DataError:
    """The error for a line that is JSON but not ``what`` (a field missing or of the wrong kind)."""
    detail = detail.splitlines()[0][:200] if detail else "a field is missing or of the wrong kind"
    return DataError("jsonl-invalid", f"line {number} of {path} is not {what} ({detail})", file=str(path),
                     span=Span(number, 1), hint=hint)


def parse_row(line: str) -> dict | None:
    """A line's JSON object, or None for a line that is not one."""
    try:
        row = json.loads(line)
    except ValueError:  # JSONDecodeError, or bytes that are not UTF-8
        return None
    return row if isinstance(row, dict) else None


def rewrite(path: Path, edit: Callable[[str], str | None]) -> bool:
    """Pass every finished line of ``path`` through ``edit`` (its new text, or None to drop it)
    and swap the result in atomically, holding the file's lock throughout, so no line appended
    meanwhile is lost. An unfinished last line is dropped (its writer is gone: we hold the
    lock). Returns whether anything changed; an unchanged file is left as it is."""
    if not path.exists():
        return False
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    changed = False
    try:
        with locked(path), open(path, encoding="utf-8", errors="surrogateescape") as source, \
                open(temporary, "w", encoding="utf-8", errors="surrogateescape") as sink:
            for line in source:
                new = edit(line) if line.endswith("\n") else None
                changed |= new != line
                if new is not None:
                    sink.write(new)
            sink.flush()
            os.fsync(sink.fileno())
            if changed:
                temporary.replace(path)  # still under the old file's lock: waiting writers then reopen
    finally:
        temporary.unlink(missing_ok=True)
    return changed


def drop_damaged(path: Path) -> int:
    """Rewrite a file without its damaged lines (atomically); returns how many were dropped."""
    dropped = 0

    def keep(line: str) -> str | None:
        nonlocal dropped
        if not line.strip():
            return None
        if parse_row(line) is None:
            dropped += 1
            return None
        return line

    rewrite(path, keep)
    return dropped


def write_atomic(path: Path, text: str) -> None:
    """Write a whole small file (a summary, a ledger) so a kill leaves the old one or the new."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as sink:
        sink.write(text)
        sink.flush()
        os.fsync(sink.fileno())
    temporary.replace(path)


def read_json(path: Path, hint: str):
    """A whole JSON file's value (None when there is none); a damaged one is a DataError."""
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:  # JSONDecodeError, bytes that are not UTF-8, a folder
        raise DataError("json-damaged", f"{path} cannot be read as JSON ({type(error).__name__}: {error})",
                        file=str(path), hint=hint) from None
