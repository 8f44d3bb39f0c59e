"""The SQL oracle: a plan's answer computed by DuckDB from its SQL translation, which the
executor is tested against (``csvdsl fuzz``), and the DuckDB connections csvdsl opens."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from planner.compile import Plan
from planner.sql import ROW, answer_sql, plan_sql
from planner.sql_answer import answer_select, answer_value


def connect():
    """A new DuckDB database in UTC whose progress bar is never drawn: DuckDB draws it on stdout
    for a query over 2 s, into the user's output (``--format json``, the REPL, the fuzzer's
    summary)."""
    import duckdb

    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")  # a date string's offset is converted to UTC, as on pandas
    connection.execute("SET enable_progress_bar = false")
    connection.execute("SET enable_progress_bar_print = false")  # holds even where it is tracked
    return connection


_CONNECTION = None


def _connection():
    # Connecting costs about 20 ms, more than most fuzzed programs take: one per process.
    global _CONNECTION
    if _CONNECTION is None:
        _CONNECTION = connect()
    return _CONNECTION


def run_oracle(plan: Plan, tables: dict[str, pd.DataFrame]):
    """The plan's answer computed by DuckDB: a Python scalar, a list, or (columns, rows)."""
    connection = _connection().cursor()  # a cursor per run: results never left half-read
    for name, frame in tables.items():
        connection.register(name, frame.assign(**{ROW: np.arange(len(frame))}))
    attrs = plan.node(plan.root)
    answer, expr = attrs["schema"], attrs["spec"].expr
    if answer.kind == "record":  # each part as JSON would hold it, to compare part by part
        return {item.name: _json_part(_oracle_part(connection, plan, attrs, item.expr, part))
                for item, (_, part) in zip(expr.items, answer.parts)}
    return _oracle_part(connection, plan, attrs, expr, answer)


def _oracle_part(connection, plan, attrs, expr, answer):
    if answer.kind in ("table", "list"):
        result = connection.execute(plan_sql(plan, attrs["inputs"][expr.index])).fetchdf()
        if answer.kind == "list":
            return result[expr.column].tolist()
        return result
    # A whole answer of one value over one-row inputs as the DuckDB engine computes it, so the
    # fuzzer checks that SQL too; where the engine leaves it to pandas, as any other answer.
    select = answer_select(plan, plan.root) if expr is attrs["spec"].expr else None
    if select is not None:
        rows = connection.execute(answer_sql(plan, select=select)).fetchall()
        if rows and answer_value(rows[0][0], answer) is not None:
            return rows[0][0]
    return connection.execute(answer_sql(plan, expr)).fetchone()[0]


def _json_part(value):
    """A record part's value in the JSON form of answers (ISO dates, null for NaN)."""
    if isinstance(value, list):
        return [_json_part(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (pd.Timestamp, np.datetime64)) or hasattr(value, "isoformat"):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if type(value).__name__ == "Decimal" or isinstance(value, np.generic):
        return float(value) if not isinstance(value, (np.bool_, np.integer)) else value.item()
    return value
