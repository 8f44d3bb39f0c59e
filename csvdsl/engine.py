"""An Engine holds loaded tables and runs many programs over them through one result cache,
so a sub-plan shared by many programs runs once."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from csvdsl.limits import Limits
from csvdsl.program import run_program
from csvdsl.tables import Catalog, read_table, table_from_frame
from planner.cache import CacheStats, ResultCache
from planner.duckdb_backend import DuckDBBackend
from planner.execute import Execution, execute


BACKENDS = ("pandas", "duckdb")  # pandas is the reference semantics
ENGINE_VARIABLE = "CSVDSL_ENGINE"


@contextmanager
def default_backend(backend: str | None):
    """Engines made inside the block, here and in the worker processes it starts, default to
    ``backend`` (``--engine``); None changes nothing."""
    previous = os.environ.get(ENGINE_VARIABLE)
    if backend is not None:
        os.environ[ENGINE_VARIABLE] = backend
    try:
        yield
    finally:
        if backend is not None and previous is None:
            del os.environ[ENGINE_VARIABLE]
        elif backend is not None:
            os.environ[ENGINE_VARIABLE] = previous


def load_catalog(tables) -> Catalog:
    """A catalog from a Catalog, or a mapping of names to CSV paths or DataFrames."""
    if isinstance(tables, Catalog):
        return tables
    catalog = Catalog()
    for name, table in dict(tables).items():
        if isinstance(table, pd.DataFrame):
            catalog.add(table_from_frame(name, table))
        else:
            catalog.add(read_table(Path(table), name))
    return catalog


class Engine:
    """Loaded tables plus a shared result cache; ``cache_bytes=0`` turns the cache off."""

    def __init__(self, tables, cache_bytes: int = 512 * 2**20, limits: Limits | None = None, backend: str | None = None):
        # Default: CSVDSL_ENGINE, which `--engine` sets, so engines made deeper down (a worker
        # process, the rewards, the teacher) run where the user asked.
        backend = backend or os.environ.get(ENGINE_VARIABLE) or "pandas"
        if backend not in BACKENDS:
            raise ValueError(f"Engine(backend={backend!r}): one of {', '.join(BACKENDS)}")
        self.catalog = load_catalog(tables)
        self.tables = {name: self.catalog[name].frame for name in self.catalog.names()}
        self.cache = ResultCache(cache_bytes) if cache_bytes else None
        self.limits = limits or Limits()
        self.backend = backend
        # DuckDB (docs/plans.md): the tables copied into its database once, plans run as SQL.
        self._duckdb = DuckDBBackend(self.tables, self.cache) if backend == "duckdb" else None

    def add_table(self, table) -> None:
        """Load one more table (a ``csvdsl.tables.Table``); results of other tables stay cached."""
        self.catalog.add(table)
        self.tables[table.name] = table.frame
        if self._duckdb is not None:
            self._duckdb.add(table.name, table.frame)

    @property
    def stats(self) -> CacheStats:
        return self.cache.stats if self.cache else CacheStats()

    def execute(self, plan, limits: Limits | None = None, outputs=None, deadline=None, keep="all") -> Execution:
        if self._duckdb is not None:
            return self._duckdb.execute(plan, limits or self.limits, outputs, deadline, keep)
        return execute(plan, self.tables, limits or self.limits, self.cache, outputs, deadline, keep)

    def run(self, text: str, limits: Limits | None = None, file: str | None = None, keep="all", hard: bool = False):
        """Parse, check, compile and run a program through the cache (``keep`` as in
        ``planner.execute.execute``; ``hard`` as in ``run_program``)."""
        return run_program(text, self.catalog, limits or self.limits, file, engine=self, keep=keep, hard=hard)
