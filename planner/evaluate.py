"""Row-level expression evaluation over a DataFrame, with SQL's three-valued logic: a
comparison with null is null, and a filter keeps only rows whose condition is true."""

from __future__ import annotations

import datetime
import operator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from csvdsl import ast
from csvdsl.errors import ExecutionError
from csvdsl.tables import shapes
from planner.functions import FUNCTIONS, bool_series, check_int64


@dataclass
class Scope:
    """What an expression can see: the current table (None in an answer) and the node's inputs."""

    frame: pd.DataFrame | None
    inputs: list

    @property
    def index(self):
        return self.frame.index if self.frame is not None else pd.RangeIndex(1)


def evaluate(expr, scope: Scope):
    """The value of ``expr``: a Series aligned with the frame, or a scalar (None is null)."""
    return _EVAL[type(expr)](expr, scope)


def evaluate_series(expr, scope: Scope) -> pd.Series:
    """Like ``evaluate``, but always a Series as long as the frame."""
    return as_series(evaluate(expr, scope), scope.index)


def as_series(value, index) -> pd.Series:
    if isinstance(value, pd.Series):
        return value
    if value is None:
        return pd.Series(np.full(len(index), np.nan), index=index)
    if isinstance(value, str):
        return pd.Series([value] * len(index), index=index, dtype="str")
    return pd.Series(value, index=index)


def scratch_name(stem: str, *taken) -> str:
    """A helper column's name: ``stem`` and the first number that makes a name in none of
    ``taken``. Fixed helper names would clash with a user's column named the same."""
    number = 0
    while any(f"{stem}{number}" in names for names in taken):
        number += 1
    return f"{stem}{number}"


def scalar(value):
    """A Python scalar from a numpy/pandas one; NaN, NaT and NA become None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        return None if isinstance(value, float) and np.isnan(value) else value
    return value


def condition_mask(value, length: int) -> np.ndarray:
    """The rows where a condition is true (false and null both drop a row)."""
    if isinstance(value, pd.Series):
        return value.to_numpy(dtype=bool, na_value=False)
    return np.full(length, bool(value) if value is not None else False)


def _lifted(fn):
    """Apply ``fn`` on Series; when every operand is a scalar, on one-element Series."""

    def run(*values):
        if any(isinstance(v, pd.Series) for v in values):
            return fn(*values)
        out = fn(*(as_series(v, pd.RangeIndex(1)) for v in values))
        return scalar(out.iloc[0]) if isinstance(out, pd.Series) else out

    return run


def _isna(value):
    if isinstance(value, pd.Series):
        return value.isna().to_numpy()
    return value is None


def _temporal(x) -> bool:
    """A date or datetime: a column of them, or one (a constant's ``datetime("...")``)."""
    if isinstance(x, pd.Series):
        return pd.api.types.is_datetime64_any_dtype(x)
    return isinstance(x, (pd.Timestamp, datetime.datetime, datetime.date, np.datetime64))


def _coerce_dates(a, b):
    """A string constant compared with a date (a column or one value) is read as a date, its UTC
    offset applied."""
    for x, y, swap in ((a, b, False), (b, a, True)):
        if _temporal(x) and isinstance(y, str):
            y = shapes.time_of(y)
            return (y, x) if swap else (x, y)
    return a, b


_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def compare(op: str, a, b):
    if a is None or b is None:  # a null constant (or null result): the comparison is null
        series = next((v for v in (a, b) if isinstance(v, pd.Series)), None)
        return None if series is None else bool_series(np.zeros(len(series), bool), np.ones(len(series), bool), series.index)
    fast = _compare_numbers(op, a, b)
    if fast is not None:
        return fast
    a, b = _coerce_dates(a, b)

    def run(a, b):
        with np.errstate(invalid="ignore"):
            values = _COMPARE[op](a, b)
        index = a.index if isinstance(a, pd.Series) else b.index
        null = np.asarray(_isna(a)) | np.asarray(_isna(b))
        values = values.to_numpy(dtype=bool, na_value=False) if isinstance(values, pd.Series) else np.asarray(values, dtype=bool)
        return bool_series(values, np.broadcast_to(null, len(index)), index)

    return _lifted(run)(a, b)


def _compare_numbers(op: str, a, b):
    """A column of plain numbers against a number or another such column: numpy directly,
    NaN as null (what pandas does, without its Series ops around it); None otherwise."""
    arrays, index = [], None
    for value in (a, b):
        if isinstance(value, pd.Series):
            if not isinstance(value.dtype, np.dtype) or value.dtype.kind not in "iuf" or (index is not None and value.index is not index):
                return None
            index = value.index
            arrays.append(value.to_numpy())
        elif isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63):
            arrays.append(value)
        else:
            return None
    if index is None:
        return None
    with np.errstate(invalid="ignore"):
        values = np.asarray(_COMPARE[op](arrays[0], arrays[1]), dtype=bool)
    null = np.zeros(len(index), dtype=bool)
    for array in arrays:  # a constant is never null here (a null one is None)
        if isinstance(array, np.ndarray) and array.dtype.kind == "f":
            null |= np.isnan(array)
    return pd.Series(pd.arrays.BooleanArray(values, null), index=index)


def _null_on_zero(operation):
    """Division-like operations: x / 0 and x % 0 are null, as in SQL engines."""

    def run(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = operation(a, b)
        zero = b == 0
        return out.where(~zero) if isinstance(zero, pd.Series) else (out * np.nan if zero else out)

    return run


_divide = _null_on_zero(operator.truediv)
_modulo = _null_on_zero(np.fmod)  # SQL's remainder takes the sign of the dividend, unlike Python's %


def _checked(operation):
    """Whole-number arithmetic that fails instead of wrapping around past 64 bits."""

    def run(a, b):
        out = operation(a, b)
        if isinstance(out, pd.Series) and out.dtype == np.int64:
            exact = operation(a.astype(float) if isinstance(a, pd.Series) else float(a),
                              b.astype(float) if isinstance(b, pd.Series) else float(b))
            check_int64(exact, "a whole-number result", "convert to a decimal number first with float(x)")
        return out

    return run


_ARITH = {"+": _checked(operator.add), "-": _checked(operator.sub), "*": _checked(operator.mul), "/": _divide, "%": _modulo}


def _binary(expr: ast.Binary, scope: Scope):
    a, b = evaluate(expr.left, scope), evaluate(expr.right, scope)
    if expr.op in _COMPARE:
        return compare(expr.op, a, b)
    if a is None or b is None:
        return None if not any(isinstance(v, pd.Series) for v in (a, b)) else as_series(None, scope.index)
    return _lifted(_ARITH[expr.op])(a, b)


def _as_bool(value):
    if isinstance(value, pd.Series):
        return value if value.dtype == "boolean" else value.astype("boolean")
    return pd.NA if value is None else bool(value)


def _logical(expr: ast.Logical, scope: Scope):
    values = [_as_bool(evaluate(o, scope)) for o in expr.operands]
    combine = operator.and_ if expr.op == "and" else operator.or_
    series = [v for v in values if isinstance(v, pd.Series)]
    if series and all(v.index is series[0].index for v in series):  # one index: the arrays, without aligning
        out = values[0].array if isinstance(values[0], pd.Series) else values[0]
        for value in values[1:]:
            out = combine(out, value.array if isinstance(value, pd.Series) else value)
        return pd.Series(out, index=series[0].index) if isinstance(out, pd.arrays.BooleanArray) else (None if out is pd.NA else out)
    out = values[0]
    for value in values[1:]:
        out = combine(out, value)
    return None if out is pd.NA else out


def _not(expr: ast.Not, scope: Scope):
    value = _as_bool(evaluate(expr.operand, scope))
    return None if value is pd.NA else (~value if isinstance(value, pd.Series) else not value)


def _neg(expr: ast.Neg, scope: Scope):
    value = evaluate(expr.operand, scope)
    return None if value is None else -value


def _membership(operand, values: list, negated: bool):
    has_null = any(v is None for v in values)
    members = [v for v in values if v is not None]

    def run(s):
        if pd.api.types.is_datetime64_any_dtype(s):
            members_ = [shapes.time_of(m) if isinstance(m, str) else m for m in members]
        else:
            members_ = members
        found = s.isin(members_).to_numpy()
        null = s.isna().to_numpy() | (has_null & ~found)
        result = bool_series(found, null, s.index)
        return ~result if negated else result

    return _lifted(run)(operand)


def _in_list(expr: ast.InList, scope: Scope):
    return _membership(evaluate(expr.operand, scope), [evaluate(i, scope) for i in expr.items], expr.negated)


def _in_ref(expr: ast.InRef, scope: Scope):
    ref = expr.ref
    column = scope.inputs[ref.index][ref.column]
    values = [scalar(v) for v in pd.unique(column.dropna())]
    if column.isna().any():
        values.append(None)
    return _membership(evaluate(expr.operand, scope), values, expr.negated)


def _between(expr: ast.Between, scope: Scope):
    value = evaluate(expr.operand, scope)
    low, high = evaluate(expr.low, scope), evaluate(expr.high, scope)
    out = _as_bool(compare(">=", value, low)) & _as_bool(compare("<=", value, high))
    out = None if out is pd.NA else out
    if expr.negated:
        return None if out is None else (~out if isinstance(out, pd.Series) else not out)
    return out


def _is_null(expr: ast.IsNull, scope: Scope):
    value = evaluate(expr.operand, scope)
    null = _isna(value)
    if isinstance(value, pd.Series):
        return pd.Series(~null if expr.negated else null, index=value.index)
    return (not null) if expr.negated else null


def _case(expr: ast.Case, scope: Scope):
    index = scope.index
    result = as_series(evaluate(expr.default, scope) if expr.default is not None else None, index)
    for condition, value in reversed(expr.whens):
        mask = condition_mask(evaluate(condition, scope), len(index))
        value = as_series(evaluate(value, scope), index)
        if result.isna().all():
            # An all-null default takes the branch's type (text stays text, dates stay dates).
            result = value.where(np.zeros(len(index), dtype=bool))
        result = value.where(mask, result)
    if scope.frame is None:
        return scalar(result.iloc[0])
    return result


def _literal(expr: ast.Literal, scope: Scope):
    return expr.value


def _column(expr: ast.Column, scope: Scope):
    return scope.frame[expr.name]


def _input_ref(expr: ast.InputRef, scope: Scope):
    table = scope.inputs[expr.index]
    if expr.column is None:
        return table
    column = table[expr.column]
    return scalar(column.iloc[0]) if len(column) else None


# ---------------------------------------------------------------- functions


def _call(expr: ast.Call, scope: Scope):
    function = FUNCTIONS[expr.name]
    if function.kind == "window":
        return _WINDOWS[expr.name](expr, scope)
    if function.kind == "aggregate":  # the checker lets aggregates reach rows only with `over`
        return _window_aggregate(expr, scope)
    args = []
    for position, arg in enumerate(expr.args):
        args.append(arg.value if position in function.constant else evaluate(arg, scope))
    data = [i for i in range(len(args)) if i not in function.constant]
    impl = function.impl
    if not function.null_tolerant:
        if any(arg is None for arg in args):
            # SQL: a function of a null is null (a null constant nulls every row).
            return None if not any(isinstance(args[i], pd.Series) for i in data) else as_series(None, scope.index)
        if any(_null_column(args[i], function.accepts[min(i, len(function.accepts) - 1)]) for i in data):
            return as_series(None, scope.index)
    if any(isinstance(args[i], pd.Series) for i in data):
        for i in data:
            args[i] = as_series(args[i], scope.index)
        return impl(*args)
    one = pd.RangeIndex(1)
    for i in data:
        args[i] = as_series(args[i], one)
    out = impl(*args)
    return scalar(out.iloc[0]) if isinstance(out, pd.Series) else scalar(out)


def _null_column(value, accepted) -> bool:
    """A float column where text or dates are expected: the checker allowed it, so it holds
    only nulls (an all-null aggregate, a `null` column) and the result is null too."""
    return (isinstance(value, pd.Series) and accepted is not None and not accepted & {"int", "float", "bool"}
            and pd.api.types.is_float_dtype(value))


def aggregate_inputs(call: ast.Call, frame, inputs, work: dict) -> list[str]:
    """Names of the columns holding an aggregate call's data arguments, computing them into ``work``."""
    function = FUNCTIONS[call.name]
    numeric = function.accepts[0] is not None and "string" not in function.accepts[0]
    names = []
    for position, arg in enumerate(call.args):
        if position in function.constant:
            continue
        series = frame[arg.name] if isinstance(arg, ast.Column) else evaluate_series(arg, Scope(frame, inputs))
        if numeric and (pd.api.types.is_bool_dtype(series) or series.dtype == "boolean"):
            series = series.astype("float64")  # true/false count as 1/0 in numeric aggregates
        elif isinstance(arg, ast.Column):
            work.setdefault(arg.name, series)  # the frame's own column, shared by the calls that read it
            names.append(arg.name)
            continue
        # A computed column: never under a name of the frame's, which a call may also read.
        name = scratch_name("__arg", frame.columns, work)
        work[name] = series
        names.append(name)
    return names


def aggregate_constants(call: ast.Call) -> list:
    function = FUNCTIONS[call.name]
    return [call.args[i].value for i in function.constant if i < len(call.args)]


def aggregate_value(call: ast.Call, frame, inputs, work: dict):
    """An aggregate call over the whole of ``frame``: one value (``count()`` counts the rows)."""
    if call.name == "count" and not call.args:
        return len(frame)
    names = aggregate_inputs(call, frame, inputs, work)
    return scalar(FUNCTIONS[call.name].impl(*(work[n] for n in names), *aggregate_constants(call)))


def _window_aggregate(expr: ast.Call, scope: Scope):
    """An aggregate with `over`: its value over each partition (the whole table for `over ()`),
    repeated on every row of it, as SQL's window aggregates."""
    frame = scope.frame
    if not expr.over:
        return as_series(aggregate_value(expr, frame, scope.inputs, {}), frame.index)
    work: dict = {}
    names = aggregate_inputs(expr, frame, scope.inputs, work)
    groups = frame.groupby([c.name for c in expr.over], dropna=False, sort=False).ngroup().to_numpy()
    grouped = pd.DataFrame({n: work[n] for n in names}, index=frame.index).groupby(groups, sort=True)
    result = FUNCTIONS[expr.name].grouped(grouped, names, aggregate_constants(expr))
    values = result.reindex(groups)
    return pd.Series(values.to_numpy(), index=frame.index, dtype=values.dtype)


def _partition(expr: ast.Call, scope: Scope):
    # A nullable bool key with a null in it breaks pandas' grouped transform ("boolean value of
    # NA is ambiguous"): as floats (1, 0, NaN) it makes the same partitions.
    return [column.astype("float64") if column.dtype == "boolean" else column
            for column in (scope.frame[c.name] for c in expr.over)]


def _ordered_arg(expr: ast.Call, scope: Scope):
    arg = expr.args[0]
    descending = isinstance(arg, ast.Ordered) and arg.descending
    if isinstance(arg, ast.Ordered):
        arg = arg.expr
    return evaluate_series(arg, scope), descending


def _by_partition(expr, scope, series, operation: str, *args, **kwargs):
    keys = _partition(expr, scope)
    if keys:
        return getattr(series.groupby(keys, dropna=False, sort=False), operation)(*args, **kwargs)
    return getattr(series, operation)(*args, **kwargs)


def _rank(method):
    def run(expr, scope):
        series, descending = _ordered_arg(expr, scope)
        return _by_partition(expr, scope, series, "rank", method=method, ascending=not descending, na_option="keep")

    return run


def _row_number(expr, scope):
    if expr.args:
        series, descending = _ordered_arg(expr, scope)
        return _by_partition(expr, scope, series, "rank", method="first", ascending=not descending, na_option="bottom")
    positions = pd.Series(np.arange(1, len(scope.frame) + 1), index=scope.frame.index)
    keys = _partition(expr, scope)
    if keys:
        return positions.groupby(keys, dropna=False, sort=False).cumcount() + 1
    return positions


def _shift(direction):
    def run(expr, scope):
        series = evaluate_series(expr.args[0], scope)
        steps = expr.args[1].value if len(expr.args) > 1 else 1
        return _by_partition(expr, scope, series, "shift", direction * steps)

    return run


def _cumsum(expr, scope):
    # A running SQL sum: nulls are skipped, and it is null until the first value.
    series = evaluate_series(expr.args[0], scope)
    if pd.api.types.is_bool_dtype(series) or series.dtype == "boolean":
        series = series.astype(float)
    with np.errstate(invalid="ignore"):  # inf + -inf is NaN (null), as in SQL engines
        filled = series.fillna(0)
        if expr.over and pd.api.types.is_float_dtype(filled) and np.isinf(filled.to_numpy()).any():
            # pandas' grouped cumsum compensates rounding and turns inf + 0 into NaN
            totals = filled.groupby(_partition(expr, scope), dropna=False, sort=False).transform(lambda s: s.cumsum())
        else:
            totals = _by_partition(expr, scope, filled, "cumsum")
    if totals.dtype == np.int64:
        check_int64(_by_partition(expr, scope, series.fillna(0).astype(float), "cumsum"), "a running total",
                    "sum decimal numbers instead: cumsum(float(x))")
    seen = _by_partition(expr, scope, series.notna().astype("int64"), "cumsum")
    return totals.where(seen > 0)


def _pct_change(expr, scope):
    series = evaluate_series(expr.args[0], scope).astype(float)
    previous = _by_partition(expr, scope, series, "shift", 1)
    return _divide(series - previous, previous)


_WINDOWS = {
    "rank": _rank("min"),
    "dense_rank": _rank("dense"),
    "row_number": _row_number,
    "cumsum": _cumsum,
    "lag": _shift(1),
    "lead": _shift(-1),
    "pct_change": _pct_change,
}


def _unsupported(expr, scope):
    raise ExecutionError("unsupported", f"`{type(expr).__name__}` cannot be evaluated here", span=expr.span)


_EVAL = {
    ast.Literal: _literal,
    ast.Column: _column,
    ast.InputRef: _input_ref,
    ast.Call: _call,
    ast.Neg: _neg,
    ast.Not: _not,
    ast.Binary: _binary,
    ast.Logical: _logical,
    ast.InList: _in_list,
    ast.InRef: _in_ref,
    ast.Between: _between,
    ast.IsNull: _is_null,
    ast.Case: _case,
    ast.Ref: _unsupported,
    ast.TableRef: _unsupported,
    ast.Ordered: _unsupported,
}
