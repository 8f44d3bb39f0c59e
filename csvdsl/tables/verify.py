"""Tables are what the tasks were made from: a file's sha256 checked against the one a record
holds, before a task is scored, solved or exported."""

from __future__ import annotations

import hashlib
import os

from csvdsl.errors import DataError

_KNOWN: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> sha256: an edit changes the key


def current_sha256(path: str) -> str:
    """The sha256 of a file as it is now (remembered until its size or modification time changes)."""
    try:
        status = os.stat(path)
    except OSError as error:
        raise DataError("table-missing", f"cannot read {path}: {error.strerror or error}", file=path,
                        hint="the task was made from this file; restore it, or regenerate the tasks") from None
    key = (os.path.abspath(path), status.st_size, status.st_mtime_ns)
    if key not in _KNOWN:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _KNOWN[key] = digest.hexdigest()
    return _KNOWN[key]


def check_table_file(name: str, path: str, expected: str) -> None:
    """Raise ``DataError("table-changed")`` naming the table and both hashes unless the file at
    ``path`` has the sha256 ``expected``."""
    actual = current_sha256(path)
    if actual != expected:
        raise DataError("table-changed", f"table `{name}` ({path}) has changed since the tasks were made: "
                        f"its sha256 is {actual}, the tasks recorded {expected}", file=path,
                        hint="restore the file the tasks were made from, or generate the tasks again from this one")
