"""Run a plan over pandas in topological order, each node once, within row and time limits."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from csvdsl import ast
from csvdsl.check import TABLES_TYPE, AnswerType, TableType
from csvdsl.errors import DslError, ExecutionError, LimitError
from csvdsl.limits import Limits
from csvdsl.signatures import BOOL, DATE, DATETIME, FLOAT, INT, STRING
from planner.compile import Output, Plan
from planner.evaluate import Scope, evaluate, scalar
from planner.ops import OPS


@dataclass
class Value:
    """A typed result: ``kind`` is number, string, bool, date, list, table or null; ``value``
    is a Python scalar, a list of them, or a DataFrame whose column types are ``table``."""

    kind: str
    value: Any
    dtype: str | None = None
    ordered: bool = False
    table: TableType | None = None


@dataclass
class Execution:
    """What a run produced: each output statement's value, in program order."""

    outputs: list[tuple[Output, Value]] = field(default_factory=list)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def answer(self) -> Value | None:
        answers = [v for o, v in self.outputs if o.kind == "answer"]
        return answers[-1] if answers else None


def execute(plan: Plan, tables: dict[str, pd.DataFrame], limits: Limits | None = None, cache=None,
            outputs: list[Output] | None = None) -> Execution:
    """Run every node the outputs (default: all the plan's) need; raises ``ExecutionError`` or
    ``LimitError``. With a ``cache`` (``get(id)``/``put(id, frame)``), results are shared by id."""
    limits = limits or Limits()
    outputs = plan.outputs if outputs is None else outputs
    deadline = time.monotonic() + limits.timeout if limits.timeout is not None else None
    frames: dict[str, Any] = {}
    for nid in plan.needed(outputs):
        attrs = plan.node(nid)
        if deadline is not None and time.monotonic() > deadline:
            raise LimitError("timeout", f"the program ran longer than {limits.timeout:g} seconds (stopped before "
                             f"{attrs['op']} node {nid[:8]})", span=_span(attrs),
                             hint="raise the limit with --timeout SECONDS (or Limits(timeout=...)), or filter earlier")
        cached = cache.get(nid) if cache is not None and attrs["op"] not in _UNCACHED else None
        if cached is None:
            cached = _run_node(nid, attrs, tables, frames, limits)
            if cache is not None and attrs["op"] not in _UNCACHED:
                cache.put(nid, cached)
        frames[nid] = cached
    execution = Execution(frames=frames)
    for output in outputs:
        if output.kind == "tables":
            listing = pd.DataFrame([(name, len(frame), frame.shape[1]) for name, frame in tables.items()],
                                   columns=TABLES_TYPE.names)
            execution.outputs.append((output, table_value(listing, output.schema)))
            continue
        result = frames[output.node]
        if output.kind in ("show", "describe", "binding"):
            result = table_value(result, output.schema or plan.node(output.node)["schema"])
        execution.outputs.append((output, result))
    return execution


_UNCACHED = {"source", "answer"}  # sources are the tables themselves; answers are cheap


def _span(attrs):
    return attrs["spans"][0] if attrs["spans"] else None


def _run_node(nid, attrs, tables, frames, limits):
    op = attrs["op"]
    if op == "source":
        return tables[attrs["spec"]]
    inputs = [frames[i] for i in attrs["inputs"]]
    try:
        if op == "answer":
            return _answer(attrs["spec"], inputs, attrs["schema"])
        check = _PRECHECKS.get(op)
        if check is not None:
            check(nid, attrs, inputs, limits)
        frame = OPS[op].run(attrs["spec"], inputs)
        if op in _CREATES_COLUMNS:
            frame = _normalize(frame, attrs["schema"])
    except DslError as error:
        if error.span is None:
            error.span = _span(attrs)
        raise
    except MemoryError as error:
        raise LimitError("memory", f"{op} needs more memory than this machine has", span=_span(attrs),
                         hint="filter or aggregate before this step") from error
    except Exception as error:  # a bug in csvdsl, reported as an error rather than a traceback
        raise ExecutionError("internal", f"{op} failed: {type(error).__name__}: {error}", span=_span(attrs),
                             hint="this is a bug in csvdsl; please report the program and data") from error
    if limits.max_rows is not None and len(frame) > limits.max_rows:
        raise LimitError("too-many-rows", f"{op} node {nid[:8]} produced {len(frame):,} rows, over the limit of {limits.max_rows:,}",
                         span=_span(attrs), hint="raise the limit with --max-rows N (or Limits(max_rows=...)), or filter earlier")
    if limits.max_bytes is not None and frame.memory_usage(index=False, deep=False).sum() > limits.max_bytes:
        raise LimitError("too-many-bytes", f"{op} node {nid[:8]} holds more than {limits.max_bytes / 2**30:.1f} GiB",
                         span=_span(attrs), hint="raise the limit with --max-bytes N (or Limits(max_bytes=...)), or select fewer columns")
    return frame


_CREATES_COLUMNS = {"select", "derive", "group", "aggregate"}


def _normalize(frame: pd.DataFrame, schema: TableType) -> pd.DataFrame:
    """Store whole numbers as int64 and booleans as bool where no value is null."""
    changes = {}
    for name, kind in schema.columns:
        column = frame[name]
        if kind == INT and pd.api.types.is_float_dtype(column) and np.isfinite(column.to_numpy()).all():
            changes[name] = column.astype("int64")
        elif kind == BOOL and column.dtype == "boolean" and not column.hasnans:
            changes[name] = column.astype(bool)
    return frame.assign(**changes) if changes else frame


def _join_rows(nid, attrs, inputs, limits):
    """Stop a join that would produce too many rows, or bytes, before it allocates them."""
    if limits.max_rows is None and limits.max_bytes is None:
        return
    spec = attrs["spec"]
    left, right = inputs
    left_counts = left.groupby([k.left.name for k in spec.keys], dropna=True, observed=True).size()
    right_counts = right.groupby([k.right.name for k in spec.keys], dropna=True, observed=True).size()
    left_counts.index.names = right_counts.index.names = [f"k{i}" for i in range(len(spec.keys))]
    matched = left_counts.to_frame("l").join(right_counts.to_frame("r"), how="inner")
    rows = int((matched["l"].astype("float64") * matched["r"]).sum())
    if spec.kind == "left":
        rows += len(left) - int(matched["l"].sum())
    if limits.max_rows is not None and rows > limits.max_rows:
        raise LimitError("too-many-rows", f"join node {nid[:8]} would produce {rows:,} rows, over the limit of {limits.max_rows:,}",
                         span=_span(attrs), hint="join on a more selective key, aggregate first, or raise --max-rows N (or Limits(max_rows=...))")
    row_bytes = _row_bytes(left) + _row_bytes(right)
    if limits.max_bytes is not None and rows * row_bytes > limits.max_bytes:
        raise LimitError("too-many-bytes", f"join node {nid[:8]} would produce {rows:,} rows of about {row_bytes} bytes "
                         f"({rows * row_bytes / 2**30:.1f} GiB), over the limit of {limits.max_bytes / 2**30:.1f} GiB",
                         span=_span(attrs), hint="select the columns you need before joining, join on a more selective key, "
                         "or raise --max-bytes N (or Limits(max_bytes=...))")


def _row_bytes(frame: pd.DataFrame) -> int:
    return int(frame.memory_usage(index=False, deep=False).sum() / max(len(frame), 1)) + 8


_PRECHECKS = {"join": _join_rows}


def _answer(spec: ast.Answer, inputs, answer: AnswerType) -> Value:
    expr = spec.expr
    if answer.kind == "table":
        return table_value(inputs[expr.index], answer.table)
    if answer.kind == "list":
        column = inputs[expr.index][expr.column]
        return Value("list", [python_value(v, answer.dtype) for v in column], answer.dtype, answer.ordered)
    value = evaluate(expr, Scope(None, inputs))
    if isinstance(value, pd.Series):
        value = value.iloc[0] if len(value) else None
    value = python_value(value, answer.dtype)
    return Value("null" if value is None else answer.kind, value, answer.dtype)


def table_value(frame: pd.DataFrame, schema: TableType) -> Value:
    """A table result, its columns in the order the program wrote them."""
    if list(frame.columns) != schema.names:
        frame = frame[schema.names]  # canonical plans may order derived columns differently
    return Value("table", frame.reset_index(drop=True), None, schema.ordered, schema)


def python_value(value, dtype: str | None):
    """A plain Python value of the given static type (None for null)."""
    value = scalar(value)
    if value is None:
        return None
    converter = _CONVERTERS.get(dtype)
    return converter(value) if converter else value


def _to_number(kind):
    def convert(value):
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                return value
            return int(value)
        return float(value)

    return convert


def _to_date(value):
    stamp = pd.Timestamp(value)
    return stamp.date()


def _to_datetime(value):
    stamp = pd.Timestamp(value)
    return stamp.to_pydatetime()


_CONVERTERS = {
    INT: _to_number(int),
    FLOAT: _to_number(float),
    BOOL: bool,
    STRING: str,
    DATE: _to_date,
    DATETIME: _to_datetime,
}
