"""Run a plan over pandas in topological order, each node once, within row and time limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from csvdsl import ast
from csvdsl.check import TABLES_TYPE, AnswerType, TableType
from csvdsl.errors import DslError, ExecutionError, LimitError
from csvdsl.limits import Deadline, Limits
from csvdsl.signatures import BOOL, DATE, DATETIME, FLOAT, INT, STRING
from planner.cache import frame_bytes
from planner.compile import Output, Plan, node_span
from planner.evaluate import Scope, evaluate, scalar
from planner.functions import check_held_as_floats
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
    rows_total: int | None = None  # set when ``value`` holds only the first rows of a larger table
    sha256: str | None = None  # of the whole table's JSON rows, when ``value`` was cut


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
            outputs: list[Output] | None = None, deadline: Deadline | None = None, keep="all") -> Execution:
    """Run every node the outputs (default: all the plan's) need; raises ``ExecutionError`` or
    ``LimitError``. With a ``cache`` (``get(id)``/``put(id, frame)``), results are shared by id.

    ``deadline`` is the run's (started before parsing; default: now plus the timeout). The
    byte limit holds for the results alive at once: ``keep`` says which intermediate results
    stay in ``Execution.frames`` ("all", or a set of node ids; the outputs' are always kept);
    any other result is freed once its last consumer has run."""
    limits = limits or Limits()
    outputs = plan.outputs if outputs is None else outputs
    deadline = deadline or Deadline(limits.timeout)
    order = plan.needed(outputs)
    last_use = {}  # node -> position of the last node that reads it
    for position, nid in enumerate(order):
        for source in plan.node(nid)["inputs"]:
            last_use[source] = position
    kept = None if keep == "all" else set(keep) | {o.node for o in outputs}
    frames: dict[str, Any] = {}
    budget = Budget(limits.max_bytes)
    for position, nid in enumerate(order):
        attrs = plan.node(nid)
        deadline.check(f"before {attrs['op']} node {nid[:8]}", node_span(attrs))
        cached = cache.get(nid) if cache is not None and attrs["op"] not in _UNCACHED else None
        size = None
        if cached is None:
            cached = run_node(nid, attrs, tables, frames, limits, budget)
            if cache is not None and attrs["op"] not in _UNCACHED:
                size = frame_bytes(cached)  # measured once, for the cache and the budget
                cache.put(nid, cached, size)
        frames[nid] = cached
        if attrs["op"] != "source":  # the tables are loaded already; results are what a program adds
            budget.hold(nid, cached, attrs, size)
        if kept is not None:
            for source in set(attrs["inputs"]):  # a self-join reads one input twice
                if last_use.get(source) == position and source not in kept:
                    del frames[source]  # its last consumer has run
                    budget.release(source)
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


_BYTES_HINT = "select fewer columns or filter earlier, or raise --max-bytes N (or Limits(max_bytes=...))"


class Budget:
    """The bytes held by the results alive at once, against ``Limits.max_bytes``."""

    def __init__(self, limit: int | None):
        self.limit, self.live, self.sizes = limit, 0, {}

    def hold(self, nid, frame, attrs, size: int | None = None) -> None:
        self.sizes[nid] = size = frame_bytes(frame) if size is None else size
        self.live += size
        if self.limit is not None and self.live > self.limit:
            raise LimitError("too-many-bytes", f"{attrs['op']} node {nid[:8]} brings the results alive at once to "
                             f"{_gib(self.live)}, over the limit of {_gib(self.limit)}", span=node_span(attrs), hint=_BYTES_HINT)

    def release(self, nid) -> None:
        self.live -= self.sizes.pop(nid, 0)

    def admit(self, nid, attrs, estimate: int, what: str, hint: str = _BYTES_HINT) -> None:
        """Refuse a step before it allocates ``estimate`` more bytes than the limit leaves."""
        if self.limit is not None and self.live + estimate > self.limit:
            raise LimitError("too-many-bytes", f"{attrs['op']} node {nid[:8]} would {what} about {_gib(estimate)} "
                             f"with {_gib(self.live)} already held, over the limit of {_gib(self.limit)}",
                             span=node_span(attrs), hint=hint)


def _gib(size: int) -> str:
    return f"{size / 2**30:.2f} GiB" if size >= 2**28 else f"{size / 2**20:.1f} MiB"


def source_table(attrs, tables: dict[str, pd.DataFrame], limits: Limits) -> pd.DataFrame:
    """A source node's table, refused when it alone has more rows than the limit."""
    table = tables[attrs["spec"]]
    if limits.max_rows is not None and len(table) > limits.max_rows:
        raise LimitError("too-many-rows", f"table {attrs['spec']} has {len(table):,} rows, over the limit of "
                         f"{limits.max_rows:,}", span=node_span(attrs), hint="raise the limit with --max-rows N "
                         "(or Limits(max_rows=...)), or pass a smaller table")
    return table


def run_node(nid, attrs, tables, frames, limits, budget):
    """One node's result on pandas from its inputs' results in ``frames`` (the DuckDB engine's
    answers are made here too, so both engines type them alike)."""
    op = attrs["op"]
    if op == "source":
        return source_table(attrs, tables, limits)
    inputs = [frames[i] for i in attrs["inputs"]]
    try:
        if op == "answer":
            return _answer(attrs["spec"], inputs, attrs["schema"])
        check = _PRECHECKS.get(op)
        if check is not None:
            check(nid, attrs, inputs, limits, budget)
        # inf - inf and the like are NaN (null) by the language's rules, not a warning on stderr.
        with np.errstate(all="ignore"):
            frame = OPS[op].run(attrs["spec"], inputs)
        if op in _CREATES_COLUMNS:
            frame = _normalize(frame, attrs["schema"])
    except DslError as error:
        if error.span is None:
            error.span = node_span(attrs)
        raise
    except MemoryError as error:
        raise LimitError("memory", f"{op} needs more memory than this machine has", span=node_span(attrs),
                         hint="filter or aggregate before this step") from error
    except RecursionError as error:
        raise LimitError("program-too-deep", f"{op} nests too deeply to run", span=node_span(attrs),
                         hint="split deep expressions with derive or bindings") from error
    except Exception as error:  # a bug in csvdsl, reported as an error rather than a traceback
        raise ExecutionError("internal", f"{op} failed: {type(error).__name__}: {error}", span=node_span(attrs),
                             hint="this is a bug in csvdsl; please report the program and data") from error
    if limits.max_rows is not None and len(frame) > limits.max_rows:
        raise LimitError("too-many-rows", f"{op} node {nid[:8]} produced {len(frame):,} rows, over the limit of {limits.max_rows:,}",
                         span=node_span(attrs), hint="raise the limit with --max-rows N (or Limits(max_rows=...)), or filter earlier")
    return frame


_CREATES_COLUMNS = {"select", "derive", "group", "aggregate"}


def _normalize(frame: pd.DataFrame, schema: TableType) -> pd.DataFrame:
    """Store whole numbers as int64 and booleans as bool where no value is null."""
    changes, dtypes = {}, None
    for name, kind in schema.columns:
        if kind != INT and kind != BOOL:
            continue  # only these change: the other columns are not looked up
        if dtypes is None:  # the types at once: a column looked up by name costs more than all of them
            dtypes = dict(zip(frame.columns, frame.dtypes))
        if kind == INT and pd.api.types.is_float_dtype(dtypes[name]):
            column = frame[name]
            values = column.to_numpy()
            # Whole numbers beside a null are held as floats, which do not wrap around: past
            # 2**63 the cast below would (to -2**63), so such a result fails as int64's do.
            check_held_as_floats(values)
            if np.isfinite(values).all():
                changes[name] = column.astype("int64")
        elif kind == BOOL and dtypes[name] == "boolean":
            column = frame[name]
            if not column.hasnans:
                changes[name] = column.astype(bool)
    return frame.assign(**changes) if changes else frame


def _join_rows(nid, attrs, inputs, limits, budget):
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
                         span=node_span(attrs), hint="join on a more selective key, aggregate first, or raise --max-rows N (or Limits(max_rows=...))")
    row_bytes = _row_bytes(left) + _row_bytes(right)
    budget.admit(nid, attrs, rows * row_bytes, f"produce {rows:,} rows of about {row_bytes} bytes,",
                 hint="select the columns you need before joining, join on a more selective key, "
                 "or raise --max-bytes N (or Limits(max_bytes=...))")


def _row_bytes(frame: pd.DataFrame) -> int:
    return frame_bytes(frame) // max(len(frame), 1) + 8


def _sort_bytes(nid, attrs, inputs, limits, budget):
    """A sort copies its input whole."""
    budget.admit(nid, attrs, frame_bytes(inputs[0]), "copy")


def _derived_bytes(nid, attrs, inputs, limits, budget):
    """New columns, strings estimated from their inputs' lengths (concat, replace, ...) before
    any is built: doubling a text column through bindings stops here, not after it took the memory."""
    frame = inputs[0]
    estimate = sum(estimate_bytes(item.expr, frame, len(frame)) for item in attrs["spec"].items)
    budget.admit(nid, attrs, estimate, "add")


def _grown_rows(nid, attrs, rows: int, row_bytes: int, limits, budget, hint: str):
    """Stop a step that multiplies rows (a cross join, a split) before it allocates them."""
    if limits.max_rows is not None and rows > limits.max_rows:
        raise LimitError("too-many-rows", f"{attrs['op']} node {nid[:8]} would produce {rows:,} rows, over the limit of "
                         f"{limits.max_rows:,}", span=node_span(attrs), hint=f"{hint}, or raise --max-rows N (or Limits(max_rows=...))")
    budget.admit(nid, attrs, rows * row_bytes, f"produce {rows:,} rows of about {row_bytes} bytes,")


def _cross_rows(nid, attrs, inputs, limits, budget):
    left, right = inputs
    _grown_rows(nid, attrs, len(left) * len(right), _row_bytes(left) + _row_bytes(right), limits, budget,
                "filter or aggregate both sides before pairing every row")


def _split_rows(nid, attrs, inputs, limits, budget):
    frame, spec = inputs[0], attrs["spec"]
    parts = frame[spec.column.name].map(lambda value: value.count(spec.separator) + 1 if isinstance(value, str) else 1)
    _grown_rows(nid, attrs, int(parts.sum()) if len(parts) else 0, _row_bytes(frame), limits, budget,
                "filter the rows, or select fewer columns, before splitting")


_PRECHECKS = {"join": _join_rows, "sort": _sort_bytes, "derive": _derived_bytes, "select": _derived_bytes,
              "cross_join": _cross_rows, "split": _split_rows}
_FIXED_WIDTH = 8  # bytes per value of a number, date or bool column
_TEXT_WIDTH = 24  # bytes per value of a number written as text


def estimate_bytes(expr, frame: pd.DataFrame, rows: int) -> int:
    """An upper bound (within a small factor) of the bytes of ``expr`` computed over ``frame``:
    string growth is bounded from the input lengths, everything else is fixed-width."""
    if isinstance(expr, ast.Column):
        if expr.name in frame.columns:
            return int(frame[expr.name].memory_usage(index=False, deep=False)) + 4 * rows
        return _FIXED_WIDTH * rows
    if isinstance(expr, ast.Literal):
        return (len(expr.value.encode("utf-8")) + 4) * rows if isinstance(expr.value, str) else _FIXED_WIDTH * rows
    if isinstance(expr, ast.Call):
        parts = [estimate_bytes(a, frame, rows) for a in expr.args]
        if expr.name == "concat":
            return sum(max(p, _TEXT_WIDTH * rows) for p in parts)
        if expr.name in ("replace", "regex_replace") and len(expr.args) >= 3:
            old, new = expr.args[1], expr.args[2]
            if isinstance(old, ast.Literal) and isinstance(old.value, str) and old.value \
                    and isinstance(new, ast.Literal) and isinstance(new.value, str):
                growth = max(1, -(-len(new.value) // len(old.value)))
                return parts[0] * growth
            return parts[0] * max(2, parts[2] // max(rows, 1))  # a computed or empty pattern: assume the worst
        if expr.name in ("str", "to_text"):
            return _TEXT_WIDTH * rows
        if expr.name in ("upper", "lower"):
            return 2 * parts[0] if parts else _FIXED_WIDTH * rows  # a few characters grow (ß -> SS)
        return max(parts + [_FIXED_WIDTH * rows])
    children = list(ast.children(expr))
    if not children:
        return _FIXED_WIDTH * rows
    return max(estimate_bytes(c, frame, rows) for c in children)


def _answer(spec: ast.Answer, inputs, answer: AnswerType) -> Value:
    expr = spec.expr
    if answer.kind == "record":  # each part as an answer of its own, in order
        return Value("record", {item.name: _answer(ast.Answer(item.expr), inputs, part)
                                for item, (_, part) in zip(expr.items, answer.parts)})
    if answer.kind == "table":
        return table_value(inputs[expr.index], answer.table)
    if answer.kind == "list":
        column = inputs[expr.index][expr.column]
        _fits_int64(column, answer.dtype)
        return Value("list", [python_value(v, answer.dtype) for v in column], answer.dtype, answer.ordered)
    value = evaluate(expr, Scope(None, inputs))
    if isinstance(value, pd.Series):
        value = value.iloc[0] if len(value) else None
    if answer.dtype == INT and isinstance(value, float):  # from whole numbers beside a null (see _normalize)
        check_held_as_floats(value)
    value = python_value(value, answer.dtype)
    return Value("null" if value is None else answer.kind, value, answer.dtype)


def table_value(frame: pd.DataFrame, schema: TableType) -> Value:
    """A table result, its columns in the order the program wrote them."""
    if list(frame.columns) != schema.names:
        frame = frame[schema.names]  # canonical plans may order derived columns differently
    for name, kind in schema.columns:
        _fits_int64(frame[name], kind)
    return Value("table", frame.reset_index(drop=True), None, schema.ordered, schema)


def _fits_int64(column: pd.Series, kind: str) -> None:
    """A whole-number column held as floats (beside a null) shows nothing int64 could not hold:
    2**63 - 1 beside a null is the float 2**63, which would print as 9223372036854775808."""
    if kind == INT and pd.api.types.is_float_dtype(column.dtype):
        check_held_as_floats(column.to_numpy())


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
    # Python's datetime holds microseconds, as DuckDB does: the nanoseconds go, without a warning.
    return stamp.to_pydatetime(warn=False)


_CONVERTERS = {
    INT: _to_number(int),
    FLOAT: _to_number(float),
    BOOL: bool,
    STRING: str,
    DATE: _to_date,
    DATETIME: _to_datetime,
}
