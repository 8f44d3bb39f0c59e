"""Tables are what the tasks were made from: a file's sha256 checked against the one a record
holds, before a task is scored, solved or exported."""

from __future__ import annotations

from csvdsl.errors import DataError
from csvdsl.tables.info import file_sha256


def current_sha256(path: str) -> str:
    """``file_sha256``, with a file that cannot be read reported as ``table-missing``."""
    try:
        return file_sha256(path)
    except OSError as error:
        raise DataError("table-missing", f"cannot read {path}: {error.strerror or error}", file=path,
                        hint="the task was made from this file; restore it, or regenerate the tasks") from None


def check_table_file(name: str, path: str, expected: str) -> None:
    """Raise ``DataError("table-changed")`` naming the table and both hashes unless the file at
    ``path`` has the sha256 ``expected``."""
    actual = current_sha256(path)
    if actual != expected:
        raise DataError("table-changed", f"table `{name}` ({path}) has changed since the tasks were made: "
                        f"its sha256 is {actual}, the tasks recorded {expected}", file=path,
                        hint="restore the file the tasks were made from, or generate the tasks again from this one")
