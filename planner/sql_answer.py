"""Scalar answers computed by DuckDB (the DuckDB engine): an answer that reads at most one row
of each input (or none) is one more SELECT over them, so one cell comes back instead of frames
that the pandas executor would then evaluate the answer over (about a millisecond a program).
The inputs are joined into one row, each read once: a relation read twice (a scalar subquery
per value read) is materialized and scanned twice, which costs DuckDB up to a millisecond more.

Only what both engines compute alike goes to DuckDB: the operators, and the functions in
``_ALIKE``. Left to pandas: ``str`` and ``concat`` (DuckDB writes some floats otherwise), ``exp``
(its last digit can differ), and what depends on Unicode's tables, which DuckDB's copies of RE2
and utf8proc hold in another version than Arrow's: ``lower``, ``upper`` and the regular
expressions (the class of letters misses those of Unicode 15.1 on DuckDB)."""

from __future__ import annotations

from csvdsl import ast
from csvdsl.signatures import BOOL, FLOAT, INT, STRING
from planner.compile import Plan
from planner.execute import Value, python_value
from planner.sql import Unsupported, answer_expression, input_relation, quote
from planner.sql_order import row_bound

_TYPES = {INT, FLOAT, BOOL, STRING}  # a date's conversion is the executor's own
_ALIKE = {"abs", "round", "floor", "ceil", "sqrt", "log", "coalesce", "length", "position", "substr",
          "contains", "starts_with", "ends_with", "year", "month", "day", "hour", "minute", "weekday", "date_diff",
          "strip", "int", "float", "date", "datetime", "replace", "split_part"}  # text read alike: planner/sql_text.py


def answer_select(plan: Plan, node: str) -> str | None:
    """The SELECT giving answer ``node``'s value in one cell (no row if an input has none), or
    None where the pandas executor computes it: no single value of a plain type, an input that
    may have more rows than one (pandas reads the first in order), a function not in ``_ALIKE``,
    or what SQL does not cover."""
    attrs = plan.node(node)
    answer = attrs["schema"]
    if answer.kind in ("table", "list", "record") or answer.dtype not in _TYPES:
        return None
    bounds = [row_bound(plan, source) for source in set(attrs["inputs"])]
    if any(bound is None or bound > 1 for bound in bounds):
        return None
    for part in ast.walk(attrs["spec"].expr):
        if (isinstance(part, ast.InputRef) and part.column is None) or (isinstance(part, ast.Call) and part.name not in _ALIKE):
            return None
    sources = list(dict.fromkeys(attrs["inputs"]))
    alias = [f"i{sources.index(source)}" for source in attrs["inputs"]]
    try:
        value = answer_expression(plan, node, read=lambda index, column: f"{alias[index]}.{quote(column)}")
    except Unsupported:
        return None
    # An input with no rows leaves no row: the pandas executor then reads its values as null.
    joined = ", ".join(f"{input_relation(plan, source)} AS i{k}" for k, source in enumerate(sources))
    return f"SELECT {value} AS answer" + (f" FROM {joined}" if joined else "")


def answer_value(cell, answer) -> Value | None:
    """The answer's value from its cell, as the pandas executor types it; None where the pandas
    executor must decide: a whole number at 2**63 or past it (computed in floats, or at the very
    edge), which it refuses as an integer overflow."""
    if answer.dtype == INT and cell is not None and abs(float(cell)) >= 2.0**63:
        return None
    value = python_value(cell, answer.dtype)
    return Value("null" if value is None else answer.kind, value, answer.dtype)
