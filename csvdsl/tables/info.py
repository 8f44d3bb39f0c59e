"""What a task record says about a table: its name, file, content hash, size and columns."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from pydantic import BaseModel

from csvdsl.tables.catalog import Catalog


class ColumnInfo(BaseModel):
    name: str
    type: str


class TableInfo(BaseModel):
    name: str
    file: str
    sha256: str
    rows: int
    columns: list[ColumnInfo]


@cache
def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_info(catalog: Catalog, name: str) -> TableInfo:
    """What a record says about one table of the catalog."""
    table = catalog[name]
    path = str(Path(table.path).resolve())  # records are read from anywhere: no relative paths
    return TableInfo(name=name, file=path, sha256=file_sha256(path), rows=len(table.frame),
                     columns=[ColumnInfo(name=c, type=k) for c, k in table.schema.items()])
