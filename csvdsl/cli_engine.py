"""The command line's engine choice: ``--engine pandas|duckdb`` on the commands that run programs,
``run --verbose`` (which steps ran where), and ``plan --format sql --dialect`` (docs/plans.md)."""

from __future__ import annotations

import sys

from csvdsl.errors import DslError
from csvdsl.engine import BACKENDS, Engine, default_backend
from csvdsl.limits import limits_from_args
from csvdsl.program import plan_program
from csvdsl.tables import Catalog
from planner.dialects import DIALECTS, program_sql


def add_engine_args(commands, verbose, plan) -> None:
    """``--engine`` on each of ``commands``, ``--verbose`` on ``verbose``, ``--dialect`` on ``plan``."""
    for command in commands:
        command.add_argument("--engine", choices=BACKENDS, help="where plans run: pandas (the reference; the default "
                             "unless CSVDSL_ENGINE is set) or duckdb (faster on large tables; docs/plans.md)")
    verbose.add_argument("--verbose", action="store_true", help="say on standard error which engine ran each step")
    plan.add_argument("--dialect", choices=DIALECTS, help="the SQL's dialect (implies --format sql; default duckdb); "
                      "each table needs a __rn column holding its row order")


def backend_of(args):
    """While the command runs, every Engine (here and in worker processes) uses ``--engine``'s backend."""
    return default_backend(getattr(args, "engine", None))


def engine_for(catalog: Catalog, limits) -> Engine:
    """An Engine for one run (no result cache: each result is used once) on the chosen backend."""
    return Engine(catalog, cache_bytes=0, limits=limits)


def engine_notes(args, run) -> None:
    """With ``--verbose``: the engine, and each step that ran on pandas instead of DuckDB (and why)."""
    if getattr(args, "verbose", False):
        notes = getattr(run.execution, "fallbacks", None)
        engine = "pandas" if notes is None else "duckdb"
        print("\n".join([f"engine: {engine}"] + [f"note: {note}" for note in notes or []]), file=sys.stderr)


def plan_sql_command(args, text: str, file: str | None) -> int:
    """``csvdsl plan --format sql [--dialect D]``: the answer's query, written for D by sqlglot."""
    if args.format not in ("text", "sql"):  # --dialect with another format asks for two things
        print(f"csvdsl plan: error: --dialect goes with --format sql, not --format {args.format}", file=sys.stderr)
        return 2
    catalog = Catalog.from_specs(args.csv)
    _, plan = plan_program(text, catalog, file, canonical=not args.raw, limits=limits_from_args(args))
    try:
        sql = program_sql(plan, {name: catalog[name].schema for name in catalog.names()}, args.dialect or "duckdb")
    except DslError as error:
        raise error.with_source(text, file)
    print(sql)
    return 0
