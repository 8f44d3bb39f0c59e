"""What a record says about a table: its name, content hash, size and columns. A table is
named by name and sha256 wherever data travels (exported rows, a dataset's ``tables``
config, the ``tables/`` folder beside JSONL files); only a job folder's own ``tasks.jsonl``
also says where this machine read it (``file``)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from pydantic import BaseModel

from csvdsl.tables.catalog import Catalog

TABLES_FOLDER = "tables"  # beside exported JSONL files: the CSVs their rows name
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ColumnInfo(BaseModel):
    name: str
    type: str


class TableInfo(BaseModel):
    name: str
    file: str | None = None  # where the job that made the record read it; never exported
    sha256: str
    rows: int
    columns: list[ColumnInfo]


_KNOWN: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> sha256: an edit changes the key


def file_sha256(path: str) -> str:
    """The sha256 of a file as it is now (remembered until its size or modification time changes)."""
    status = os.stat(path)
    key = (os.path.abspath(path), status.st_size, status.st_mtime_ns)
    if key not in _KNOWN:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _KNOWN[key] = digest.hexdigest()
    return _KNOWN[key]


def is_sha256(text) -> bool:
    return isinstance(text, str) and _SHA256.fullmatch(text) is not None


def table_file_name(name: str, sha256: str) -> str:
    """The file a table is stored under beside exported data: ``NAME-SHA16.csv`` (the name
    says which table, the hash prefix which version of it)."""
    return f"{name}-{sha256[:16]}.csv"


def parse_table_file_name(file_name: str) -> tuple[str, str] | None:
    """``(name, sha256 prefix)`` of a ``table_file_name``, or None for another file."""
    match = re.fullmatch(r"(.+)-([0-9a-f]{16})\.csv", file_name)
    return (match.group(1), match.group(2)) if match else None


def table_info(catalog: Catalog, name: str) -> TableInfo:
    """What a record says about one table of the catalog."""
    table = catalog[name]
    path = str(Path(table.path).resolve())  # the job folder's records are read from anywhere
    return TableInfo(name=name, file=path, sha256=file_sha256(path), rows=len(table.frame),
                     columns=[ColumnInfo(name=c, type=k) for c, k in table.schema.items()])


def task_text(question: str, tables: list[TableInfo], hint: str | None = None) -> str:
    """A task as a model reads it: the tables' names, sizes and columns, the question, and the
    hint when given (the user message of every conversation, and the environment's task)."""
    lines = ["Tables:"]
    for table in tables:
        columns = ", ".join(f"{c.name} ({c.type})" for c in table.columns)
        lines.append(f"- {table.name}: {table.rows:,} rows; columns {columns}")
    lines += ["", f"Question: {question}"]
    if hint:
        lines += ["", "Hint:", hint]
    return "\n".join(lines)
