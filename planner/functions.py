"""The function registry: each signature of ``csvdsl.signatures`` with its pandas implementation."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from csvdsl.signatures import SIGNATURES, Signature
from csvdsl.tables import shapes
from planner import stats, text

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Function(Signature):
    """A signature with its pandas implementation: ``impl`` on whole columns, and for aggregates
    ``grouped`` on a GroupBy: (groupby, columns, constants) -> Series."""

    impl: Callable | None = None
    grouped: Callable | None = None


def bool_series(values, null_mask, index=None) -> pd.Series:
    """A three-valued boolean Series: ``values`` where known, null where ``null_mask``."""
    values = np.asarray(values, dtype=bool)
    mask = np.asarray(null_mask, dtype=bool)
    return pd.Series(pd.arrays.BooleanArray(values.copy(), mask.copy()), index=index)


# ---------------------------------------------------------------- scalar implementations


def _string_predicate(method):
    def run(s, arg):
        values = getattr(s.str, method)(arg) if method != "contains" else s.str.contains(arg, regex=False)
        return bool_series(values.fillna(False).astype(bool), s.isna(), s.index)

    return run


def _replace(s, old, new):
    # SQL: replacing the empty string changes nothing (Python would insert `new` everywhere).
    return s if old == "" else s.str.replace(old, new, regex=False)


def _round(x, digits=0):
    # Half away from zero, like SQL, not pandas' half to even.
    scale = 10.0 ** int(digits)
    values = np.sign(x) * np.floor(np.abs(x) * scale + 0.5) / scale
    return values


def _log(x, base=None):
    x = x.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(x.where(x > 0))
        if base is not None:
            out = out / np.log(base) if base > 0 and base != 1 else out * np.nan
    return out


def _sqrt(x):
    x = x.astype(float)
    return np.sqrt(x.where(x >= 0))


def _pow(x, y):
    with np.errstate(all="ignore"):
        out = np.power(x.astype(float), y)
    return out.where(np.isfinite(out) | np.isinf(x.astype(float))) if isinstance(out, pd.Series) else out


def _coalesce(first, *rest):
    out = first
    for other in rest:
        out = out.fillna(other) if not isinstance(other, pd.Series) else out.combine_first(other)
    return out


def to_text(x: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(x) and x.dtype != object:
        return x
    if pd.api.types.is_float_dtype(x):
        # A whole number prints without ".0", value by value: int columns with nulls are
        # stored as floats, and the text must not depend on the other rows.
        return x.map(_number_text).astype("str")
    return x.map(_value_text).astype("str")


def _value_text(value):
    """One value as `str()` writes it: true/false, whole numbers without .0, ISO dates."""
    if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return _number_text(value)
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat(sep=" ")
    return str(value)


def _number_text(value):
    if pd.isna(value):
        return None
    if np.isfinite(value) and value == np.floor(value) and abs(value) < 2**63:
        return str(int(value))
    return repr(float(value))


def _concat(*parts):
    # Like SQL's ||: a null part makes the result null.
    out = None
    for part in parts:
        out = to_text(part) if out is None else out + to_text(part)
    return out


def _parse_times(x, fmt):
    """Strings to naive UTC times in microseconds (csvdsl/tables/shapes.py); dates and times
    stay as they are."""
    if pd.api.types.is_datetime64_any_dtype(x):
        return x
    try:
        return shapes.times(x, fmt)
    except Exception as error:  # noqa: BLE001 - a format Python's or pandas' strptime cannot read
        from csvdsl.errors import ExecutionError

        raise ExecutionError("bad-argument", f"{fmt!r} is not a date format pandas can read: {error}",
                             hint='use each of %Y %m %d %H %M %S once, e.g. "%d/%m/%Y"') from None


def _exp(x):
    with np.errstate(over="ignore"):
        return np.exp(x.astype(float))


def _to_date(x, fmt=None):
    return _parse_times(x, fmt).dt.normalize()


def _to_datetime(x, fmt=None):
    return _parse_times(x, fmt)


def _whole_numbers(x: pd.Series) -> pd.Series:
    """Whole floats as an int column holds them: null where no 64-bit integer has the value
    (infinity, 1e300), as SQL's TRY_CAST to BIGINT gives, rather than a wrapped-around one."""
    with np.errstate(invalid="ignore"):
        fits = (x >= -(2.0**63)) & (x < 2.0**63)  # NaN fails both, an infinity one
    return x.where(fits) + 0.0  # -0.0 is 0


def _text(x: pd.Series) -> bool:
    """Text, or text with nulls held as objects (after `case` or `coalesce`), not bools so held."""
    if x.dtype == object:
        return pd.api.types.infer_dtype(x, skipna=True) in ("string", "empty")
    return pd.api.types.is_string_dtype(x)


def _to_int(x):
    if pd.api.types.is_bool_dtype(x) or x.dtype == "boolean":
        return x.astype("float").where(x.notna())
    # Through a float, as the DuckDB engine's TRY_CAST(... AS DOUBLE) reads it.
    return _whole_numbers(np.trunc(_to_float(x)))


def _to_float(x):
    if _text(x):
        return shapes.numbers(x)
    if x.dtype == object:  # numbers or bools with nulls (pd.NA, which float() refuses)
        return x.where(x.notna(), np.nan).astype(float)
    return x.astype(float)


def _date_diff(a, b):
    days = (a.dt.normalize() - b.dt.normalize()).dt.days if isinstance(a, pd.Series) else None
    return days.astype(float) if days is not None else None


def _weekday(x):
    codes = x.dt.day_of_week
    names = pd.Series(np.array(WEEKDAYS, dtype=object)[codes.fillna(0).astype(int).to_numpy()], index=x.index)
    return names.where(codes.notna()).astype("str")


# ---------------------------------------------------------------- aggregates


def check_int64(exact, what: str, hint: str) -> None:
    """Whole-number results fail instead of wrapping around: ``exact`` is the same result
    computed in floats, and past 2**63 the 64-bit one has wrapped."""
    if np.any(np.abs(np.asarray(exact, dtype=float)) >= 2.0**63):
        _overflow(what, hint)


def check_held_as_floats(values) -> None:
    """Whole numbers held as floats (an int column with a null) fail where int64 could not
    hold them, from -2**63 up to, not including, 2**63 (nulls, NaN, compare false)."""
    values = np.asarray(values, dtype=float)
    if np.any((values < -(2.0**63)) | (values >= 2.0**63)):
        _overflow("a whole-number result", "convert to a decimal number first with float(x)")


def _overflow(what: str, hint: str):
    from csvdsl.errors import ExecutionError

    raise ExecutionError("integer-overflow", f"{what} does not fit in 64 bits", hint=hint)


def _no_overflow(total, exact):
    if np.asarray(total).dtype.kind in "iu":
        check_int64(exact, "a whole-number sum", "sum decimal numbers instead: sum(float(x))")
    return total


def _sum(s):
    return _no_overflow(s.sum(min_count=1), s.astype(float).sum())


def _grouped_sum(gb, cols, consts):
    column = gb[cols[0]]
    total = column.sum(min_count=1)
    if total.dtype.kind in "iu" and len(total):
        # Cheap bound first: no group can wrap if the largest value times the largest group fits.
        largest = float(np.abs(column.max()).max()) + float(np.abs(column.min()).max())
        if largest * float(column.size().max()) >= 2.0**63:
            _no_overflow(total, column.apply(lambda s: s.astype(float).sum()))
    return total


def _quantile_whole(s, q):
    """Linear interpolation that keeps infinities (numpy gives NaN for inf + 0 * (inf - inf))."""
    values = np.sort(s.dropna().to_numpy(dtype=float))
    if not len(values):
        return None
    position = q * (len(values) - 1)
    low, high = int(np.floor(position)), int(np.ceil(position))
    if low == high or values[low] == values[high]:
        return values[low]
    weight = position - low  # in (0, 1): the weighted form keeps an infinite end infinite
    return values[low] * (1 - weight) + values[high] * weight


def _quantile_grouped(gb, cols, consts):
    column = gb[cols[0]]
    values = column.obj.to_numpy(dtype=float, na_value=np.nan)
    if not np.isinf(values).any():
        return column.quantile(consts[0])
    # As _quantile_whole, for every group at once: values sorted within groups, two picked per group.
    codes, count = _group_codes(gb)
    known = ~np.isnan(values)
    codes, values = codes[known], values[known]
    order = np.lexsort((values, codes))
    values, n = values[order], np.bincount(codes, minlength=count)
    starts = np.cumsum(n) - n
    position = consts[0] * np.maximum(n - 1, 0)
    low, high = np.floor(position).astype(int), np.ceil(position).astype(int)
    last = max(len(values) - 1, 0)
    pick = (lambda at: values[np.minimum(starts + at, last)]) if len(values) else (lambda at: np.full(count, np.nan))
    below, above = pick(low), pick(high)
    weight = position - low
    with np.errstate(invalid="ignore"):
        mixed = below * (1 - weight) + above * weight
    result = np.where((low == high) | (below == above), below, mixed)
    return _per_group(gb, np.where(n > 0, result, np.nan))


def _mode_whole(s):
    counts = s.dropna().value_counts()
    if counts.empty:
        return None
    top = counts[counts == counts.max()].index
    return min(top)


def _group_codes(gb) -> tuple[np.ndarray, int]:
    """Each row's group number (groups in the GroupBy's own order) and the number of groups:
    grouped statistics are computed with whole-array operations on these, never per group."""
    return gb.ngroup().to_numpy(), gb.ngroups


def _per_group(gb, values) -> pd.Series:
    """One value per group, in the GroupBy's order, indexed by its keys."""
    return pd.Series(values, index=gb.size().index)


def _group_sums(codes, count, *columns):
    return [np.bincount(codes, weights=column, minlength=count) for column in columns]


def _centered(codes, count, x, valid):
    """(values per group, x minus its group's mean), invalid rows counted as 0."""
    n, total = _group_sums(codes, count, valid.astype(float), np.where(valid, x, 0.0))
    with np.errstate(all="ignore"):  # an empty group's mean, inf - inf: NaN, as pandas gives
        return n, np.where(valid, x - (total / n)[codes], 0.0)


def _mode_grouped(gb, cols, consts):
    codes, count = _group_codes(gb)
    values = gb.obj[cols[0]]
    known = values.notna().to_numpy()
    result = np.full(count, None, dtype=object)
    if known.any():
        counted = pd.DataFrame({"g": codes[known], "v": values[known].to_numpy()})
        table = counted.groupby(["g", "v"], sort=True).size().rename("n").reset_index()
        # Values ascend within a group, so the first largest count is the smallest tied value (as _mode_whole).
        best = table.loc[table.groupby("g", sort=True)["n"].idxmax()]
        result[best["g"].to_numpy()] = best["v"].to_numpy()
    out = _per_group(gb, result)
    if values.dtype.kind in "iu":
        return out.astype(float)  # a group of nulls has no mode: NaN
    return out if values.dtype.kind == "b" else out.astype(values.dtype)


def _corr_whole(x, y):
    return x.astype(float).corr(y.astype(float))


def _corr_grouped(gb, cols, consts):
    codes, count = _group_codes(gb)
    x = gb.obj[cols[0]].astype(float).to_numpy()
    y = gb.obj[cols[1]].astype(float).to_numpy()  # corr(x, x) reads one column twice
    valid = ~np.isnan(x) & ~np.isnan(y)
    n, dx = _centered(codes, count, x, valid)
    _, dy = _centered(codes, count, y, valid)
    sxy, sxx, syy = _group_sums(codes, count, dx * dy, dx * dx, dy * dy)
    with np.errstate(all="ignore"):
        r = np.clip(sxy / np.sqrt(sxx * syy), -1, 1)
    return _per_group(gb, np.where((n >= 2) & (sxx > 0) & (syy > 0), r, np.nan))


_SCALARS = {
    # strings
    "lower": lambda s: s.str.lower(),
    "upper": lambda s: s.str.upper(),
    "length": lambda s: s.str.len().astype(float),
    "strip": lambda s: s.str.strip(),
    "contains": _string_predicate("contains"),
    "starts_with": _string_predicate("startswith"),
    "ends_with": _string_predicate("endswith"),
    "replace": _replace,
    "substr": text.substr,
    "split_part": text.split_part,
    "position": text.position,
    "matches": text.matches,
    "extract": text.extract,
    "regex_replace": text.regex_replace,
    "number": text.number,
    "concat": _concat,
    # dates
    "year": lambda d: d.dt.year.astype(float),
    "month": lambda d: d.dt.month.astype(float),
    "day": lambda d: d.dt.day.astype(float),
    "hour": lambda d: d.dt.hour.astype(float),
    "minute": lambda d: d.dt.minute.astype(float),
    "weekday": _weekday,
    "date": _to_date,
    "datetime": _to_datetime,
    "date_diff": _date_diff,
    # math
    "abs": lambda x: x.abs(),
    "round": _round,
    "floor": lambda x: _whole_numbers(np.floor(x.astype(float))),
    "ceil": lambda x: _whole_numbers(np.ceil(x.astype(float))),
    "sqrt": _sqrt,
    "log": _log,
    "exp": _exp,
    "pow": _pow,
    **stats.DISTRIBUTIONS,
    # nulls and casts
    "coalesce": _coalesce,
    "int": _to_int,
    "float": _to_float,
    "str": to_text,
}

# (whole column, GroupBy); None is the pandas method of the function's name.
_AGGREGATES = {
    # count() without an argument counts rows: aggregate_value does it for a whole table.
    "count": (lambda s: s.count(), lambda gb, cols, consts: gb[cols[0]].count() if cols else gb.size()),
    "count_distinct": (lambda s: s.nunique(), lambda gb, cols, c: gb[cols[0]].nunique()),
    "sum": (_sum, _grouped_sum),
    "mean": (None, None),
    "median": (None, None),
    "min": (None, None),
    "max": (None, None),
    "std": (None, None),
    "var": (None, None),
    "quantile": (_quantile_whole, _quantile_grouped),
    "mode": (_mode_whole, _mode_grouped),
    "first": (lambda s: s.dropna().iloc[0] if s.notna().any() else None, None),
    "last": (lambda s: s.dropna().iloc[-1] if s.notna().any() else None, None),
    "corr": (_corr_whole, _corr_grouped),
    "skew": (None, None),
    "kurtosis": (lambda s: s.astype(float).kurt(), lambda gb, cols, c: gb[cols[0]].kurt()),
    "std_pop": (lambda s: s.std(ddof=0), lambda gb, cols, consts: gb[cols[0]].std(ddof=0)),
    "var_pop": (lambda s: s.var(ddof=0), lambda gb, cols, consts: gb[cols[0]].var(ddof=0)),
    **{name: (test, stats.per_group(test)) for name, test in stats.TESTS.items()},
}


def _implement(signature: Signature) -> Function:
    fields = {f.name: getattr(signature, f.name) for f in dataclasses.fields(Signature)}
    name = signature.name
    if signature.kind == "scalar":
        return Function(**fields, impl=_SCALARS[name])
    if signature.kind == "aggregate":
        whole, grouped = _AGGREGATES[name]
        whole = whole or (lambda s, *c: getattr(s, name)(*c))
        grouped = grouped or (lambda gb, cols, consts: getattr(gb[cols[0]], name)(*consts))
        return Function(**fields, impl=whole, grouped=grouped)
    return Function(**fields)


FUNCTIONS: dict[str, Function] = {name: _implement(signature) for name, signature in SIGNATURES.items()}
# Every scalar and aggregate signature has its implementation, and nothing else does.
assert set(_SCALARS) | set(_AGGREGATES) == {n for n, s in SIGNATURES.items() if s.kind != "window"}
