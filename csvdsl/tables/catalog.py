"""The catalog: the tables a program can name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator

from csvdsl.errors import DataError, did_you_mean
from csvdsl.grammar import IDENTIFIER as _IDENTIFIER
from csvdsl.tables.read import read_table
from csvdsl.tables.table import Table, table_name_from_path


class Catalog:
    """The tables a program can name, in the order they were added."""

    def __init__(self, tables: Iterable[Table] = ()):
        self._tables: dict[str, Table] = {}
        for table in tables:
            self.add(table)

    @classmethod
    def from_specs(cls, specs: Iterable[str]) -> "Catalog":
        """Read tables from command-line specs, each ``PATH`` or ``NAME=PATH``."""
        catalog = cls()
        if isinstance(specs, str):
            specs = [specs]
        for spec in specs:
            name, path = split_spec(spec)
            if name in catalog:
                raise DataError(
                    "table-duplicate",
                    f"two CSV files would both be table `{name}` ({catalog[name].path} and {path})",
                    hint=f"name one explicitly with NAME=PATH, e.g. --csv {name}2={path}",
                    file=path,
                )
            catalog.add(read_table(path, name=name))
        return catalog

    def add(self, table: Table) -> None:
        """Add a table; its name must be an identifier not already in the catalog."""
        _check_name(table.name)
        if table.name in self._tables:
            raise DataError(
                "table-duplicate",
                f"there is already a table named `{table.name}`",
                hint="give each table a different name (NAME=PATH on the command line)",
                file=table.path,
            )
        self._tables[table.name] = table

    def names(self) -> list[str]:
        """Table names, in order."""
        return list(self._tables)

    def schemas(self) -> dict[str, dict[str, str]]:
        """Each table's schema: table name -> column -> type name."""
        return {name: dict(table.schema) for name, table in self._tables.items()}

    def __getitem__(self, name: str) -> Table:
        try:
            return self._tables[name]
        except KeyError:
            raise UnknownTableError(name, self.names()) from None

    def get(self, name: str, default: Table | None = None) -> Table | None:
        return self._tables.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._tables

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def __repr__(self) -> str:
        return f"Catalog({', '.join(self._tables)})"


class UnknownTableError(DataError, KeyError):
    """No table has this name; also a KeyError so mapping-style code keeps working."""

    def __init__(self, name: str, available: list[str]):
        best = did_you_mean(name, available)
        hint = f"did you mean `{best}`? " if best else ""
        hint += f"tables: {', '.join(available)}" if available else "no tables are loaded (use --csv PATH)"
        super().__init__("table-unknown", f"there is no table named `{name}`", hint=hint)


def split_spec(spec: str) -> tuple[str, str]:
    """A command-line table spec, ``PATH`` or ``NAME=PATH``, as (name, path)."""
    spec = os.fspath(spec)
    if "=" in spec:
        name, path = spec.split("=", 1)
        # "a=b.csv" might also be a file name containing '='; only existing files can tell.
        if Path(spec).is_file() and not Path(path).is_file():
            return table_name_from_path(spec), spec
        _check_name(name, spec)
        if not path:
            raise DataError(
                "table-spec",
                f"`{spec}` names table `{name}` but no file",
                hint=f"write NAME=PATH, e.g. {name}=data/{name}.csv",
            )
        return name, path
    return table_name_from_path(spec), spec


def _check_name(name: str, spec: str | None = None) -> None:
    if _IDENTIFIER.match(name):
        return
    suggestion = table_name_from_path(name + ".csv") if name else "data"
    where = f" in `{spec}`" if spec is not None else ""
    raise DataError(
        "table-name",
        f"`{name}`{where} is not a valid table name" if name else f"the table name{where} is empty",
        hint=f"use letters, digits and underscores, not starting with a digit, e.g. `{suggestion}`"
        + (" (write NAME=PATH)" if spec is not None else ""),
    )
