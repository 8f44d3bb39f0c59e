"""The function registry: one entry per function of the expression language, with its
signature (for the checker), its pandas implementation and its English phrase."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

INT, FLOAT, STRING, BOOL, DATE, DATETIME, NULL = "int", "float", "string", "bool", "date", "datetime", "null"
NUMERIC = frozenset({INT, FLOAT, BOOL, NULL})
NUMBERS = frozenset({INT, FLOAT, NULL})
TEXT = frozenset({STRING, NULL})
TEMPORAL = frozenset({DATE, DATETIME, NULL})
ORDERABLE = frozenset({INT, FLOAT, BOOL, STRING, DATE, DATETIME, NULL})
ANY = None
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Function:
    """A function: ``accepts`` gives the allowed types per parameter (None: any type);
    ``required`` of them must be given; ``constant`` parameters must be literals."""

    name: str
    kind: str  # scalar | aggregate | window
    params: tuple[str, ...]
    accepts: tuple
    result: Callable[[list[str]], str]
    impl: Callable
    english: str
    required: int | None = None
    constant: tuple[int, ...] = ()
    variadic: bool = False
    grouped: Callable | None = None  # aggregates: (groupby, columns, constants) -> Series
    ordered: bool = False  # windows: takes `desc` on its argument
    null_tolerant: bool = False  # called even when an argument is null (SQL functions are not)
    check_constants: Callable | None = None  # argument values -> (position, problem) or None
    defaults: tuple = ()  # how the English phrase reads omitted trailing arguments

    @property
    def min_args(self) -> int:
        return len(self.params) if self.required is None else self.required


def bool_series(values, null_mask, index=None) -> pd.Series:
    """A three-valued boolean Series: ``values`` where known, null where ``null_mask``."""
    values = np.asarray(values, dtype=bool)
    mask = np.asarray(null_mask, dtype=bool)
    return pd.Series(pd.arrays.BooleanArray(values.copy(), mask.copy()), index=index)


def _same(types):
    known = [t for t in types if t != NULL]
    return known[0] if known else NULL


def unify_types(types) -> str | None:
    """The common type of all arguments (int and float mix to float); None if they do not mix."""
    result = NULL
    for kind in types:
        if kind == NULL or kind == result:
            continue
        if result == NULL:
            result = kind
        elif {result, kind} <= {INT, FLOAT}:
            result = FLOAT
        elif {result, kind} <= {DATE, DATETIME}:
            result = DATETIME
        else:
            return None
    return result


def _number(types):
    return FLOAT if FLOAT in types else INT


def _const(kind):
    return lambda types: kind


# ---------------------------------------------------------------- scalar implementations


def _string_predicate(method):
    def run(s, arg):
        values = getattr(s.str, method)(arg) if method != "contains" else s.str.contains(arg, regex=False)
        return bool_series(values.fillna(False).astype(bool), s.isna(), s.index)

    return run


def _replace(s, old, new):
    # SQL: replacing the empty string changes nothing (Python would insert `new` everywhere).
    return s if old == "" else s.str.replace(old, new, regex=False)


def _substr(s, start, length=None):
    # SQL positions: 1 is the first character; positions before it count toward the length.
    begin = int(start) - 1
    end = None if length is None else max(begin + max(int(length), 0), 0)
    return s.str.slice(max(begin, 0), end)


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


def _concat(*parts):
    # Like SQL's ||: a null part makes the result null.
    from planner.evaluate import to_text

    out = None
    for part in parts:
        out = to_text(part) if out is None else out + to_text(part)
    return out


def _parse_times(x, fmt):
    """Strings to naive UTC times: with ``fmt`` exactly; without, ISO 8601 (else null)."""
    if pd.api.types.is_datetime64_any_dtype(x):
        return x
    return pd.to_datetime(x, errors="coerce", format=fmt or "ISO8601", utc=True).dt.tz_convert(None)


def _exp(x):
    with np.errstate(over="ignore"):
        return np.exp(x.astype(float))


def _to_date(x, fmt=None):
    return _parse_times(x, fmt).dt.normalize()


def _to_datetime(x, fmt=None):
    return _parse_times(x, fmt)


def _to_int(x):
    if pd.api.types.is_string_dtype(x) or x.dtype == object:
        x = pd.to_numeric(x, errors="coerce")
    if pd.api.types.is_bool_dtype(x) or x.dtype == "boolean":
        return x.astype("float").where(x.notna())
    x = x.astype(float)
    return np.trunc(x.where(np.isfinite(x)))  # infinity has no whole-number value: null


def _to_float(x):
    if pd.api.types.is_string_dtype(x) or x.dtype == object:
        return pd.to_numeric(x, errors="coerce").astype(float)
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
    if np.isinf(column.obj.to_numpy(dtype=float, na_value=np.nan)).any():
        return column.apply(lambda s: _quantile_whole(s, consts[0])).astype(float)
    return column.quantile(consts[0])


def _mode_whole(s):
    counts = s.dropna().value_counts()
    if counts.empty:
        return None
    top = counts[counts == counts.max()].index
    return min(top)


def _mode_grouped(gb, cols, consts):
    return gb[cols[0]].agg(_mode_whole)


def _corr_whole(x, y):
    return x.astype(float).corr(y.astype(float))


def _corr_grouped(gb, cols, consts):
    x, y = cols
    if gb.ngroups == 0:
        return pd.Series(dtype=float)
    return gb[[x, y]].apply(lambda g: _corr_whole(g[x], g[y]), include_groups=False)


def _agg(name, *, whole=None, grouped=None, result=_same, accepts=ORDERABLE, english, params=("x",), constant=(), acc=None,
         check_constants=None):
    """An aggregate entry; ``grouped`` defaults to the GroupBy method of the same name."""
    whole = whole or (lambda s, *c: getattr(s, name)(*c))
    grouped = grouped or (lambda gb, cols, consts: getattr(gb[cols[0]], name)(*consts))
    accepts_all = acc if acc is not None else (accepts,) + (NUMBERS,) * (len(params) - 1)
    return Function(name, "aggregate", params, accepts_all, result, whole, english, constant=constant, grouped=grouped,
                    check_constants=check_constants)


def _float(types):
    return FLOAT


def _sum_type(types):
    return FLOAT if FLOAT in types else INT


def _between(position: int, name: str, low: float, high: float):
    def check(constants):
        value = constants[position] if position < len(constants) else None
        if position < len(constants) and (value is None or isinstance(value, (bool, str)) or not low <= value <= high):
            return position, f"`{name}` must be a number from {low:g} to {high:g}"
        return None

    return check


def _strftime_format(constants):
    if len(constants) < 2 or constants[1] is None:
        return None
    try:
        pd.to_datetime(pd.Series(["2000-01-02"]), format=constants[1], errors="coerce")
    except (ValueError, TypeError) as error:
        return 1, f"{constants[1]!r} is not a date format: {error}"
    return None


def _all(*checks):
    def check(constants):
        return next((problem for c in checks if (problem := c(constants))), None)

    return check


FUNCTIONS: dict[str, Function] = {}


def _register(*functions: Function) -> None:
    for f in functions:
        FUNCTIONS[f.name] = f


_register(
    # strings
    Function("lower", "scalar", ("s",), (TEXT,), _const(STRING), lambda s: s.str.lower(), "{0} in lower case"),
    Function("upper", "scalar", ("s",), (TEXT,), _const(STRING), lambda s: s.str.upper(), "{0} in upper case"),
    Function("length", "scalar", ("s",), (TEXT,), _const(INT), lambda s: s.str.len().astype(float), "the length of {0}"),
    Function("strip", "scalar", ("s",), (TEXT,), _const(STRING), lambda s: s.str.strip(), "{0} without surrounding spaces"),
    Function("contains", "scalar", ("s", "part"), (TEXT, TEXT), _const(BOOL), _string_predicate("contains"), "{0} contains {1}", constant=(1,)),
    Function("starts_with", "scalar", ("s", "prefix"), (TEXT, TEXT), _const(BOOL), _string_predicate("startswith"), "{0} starts with {1}", constant=(1,)),
    Function("ends_with", "scalar", ("s", "suffix"), (TEXT, TEXT), _const(BOOL), _string_predicate("endswith"), "{0} ends with {1}", constant=(1,)),
    Function("replace", "scalar", ("s", "old", "new"), (TEXT, TEXT, TEXT), _const(STRING), _replace, "{0} with {1} replaced by {2}", constant=(1, 2)),
    Function("substr", "scalar", ("s", "start", "length"), (TEXT, frozenset({INT}), frozenset({INT})), _const(STRING), _substr, "the part of {0} from position {1}", required=2, constant=(1, 2),
             check_constants=_all(_between(1, "start", -1e9, 1e9), _between(2, "length", 0, 1e9))),
    Function("concat", "scalar", ("s",), (ANY,), _const(STRING), _concat, "{0} joined together", variadic=True),
    # dates
    Function("year", "scalar", ("d",), (TEMPORAL,), _const(INT), lambda d: d.dt.year.astype(float), "the year of {0}"),
    Function("month", "scalar", ("d",), (TEMPORAL,), _const(INT), lambda d: d.dt.month.astype(float), "the month of {0}"),
    Function("day", "scalar", ("d",), (TEMPORAL,), _const(INT), lambda d: d.dt.day.astype(float), "the day of the month of {0}"),
    Function("hour", "scalar", ("d",), (TEMPORAL,), _const(INT), lambda d: d.dt.hour.astype(float), "the hour of {0}"),
    Function("minute", "scalar", ("d",), (TEMPORAL,), _const(INT), lambda d: d.dt.minute.astype(float), "the minute of {0}"),
    Function("weekday", "scalar", ("d",), (TEMPORAL,), _const(STRING), _weekday, "the weekday of {0}"),
    Function("date", "scalar", ("x", "format"), (frozenset({STRING, DATE, DATETIME, NULL}), TEXT), _const(DATE), _to_date, "{0} as a date", required=1, constant=(1,), check_constants=_strftime_format),
    Function("datetime", "scalar", ("x", "format"), (frozenset({STRING, DATE, DATETIME, NULL}), TEXT), _const(DATETIME), _to_datetime, "{0} as a date and time", required=1, constant=(1,), check_constants=_strftime_format),
    Function("date_diff", "scalar", ("end", "start"), (TEMPORAL, TEMPORAL), _const(INT), _date_diff, "the number of days from {1} to {0}"),
    # math
    Function("abs", "scalar", ("x",), (NUMBERS,), _same, lambda x: x.abs(), "the absolute value of {0}"),
    Function("round", "scalar", ("x", "digits"), (NUMBERS, frozenset({INT})), lambda t: t[0] if t[0] != NULL else FLOAT, _round, "{0} rounded to {1} decimal places", required=1, constant=(1,), check_constants=_between(1, "digits", -15, 15),
             defaults=("0",)),
    Function("floor", "scalar", ("x",), (NUMBERS,), _const(INT), lambda x: np.floor(x.astype(float)), "{0} rounded down"),
    Function("ceil", "scalar", ("x",), (NUMBERS,), _const(INT), lambda x: np.ceil(x.astype(float)), "{0} rounded up"),
    Function("sqrt", "scalar", ("x",), (NUMBERS,), _float, _sqrt, "the square root of {0}"),
    Function("log", "scalar", ("x", "base"), (NUMBERS, NUMBERS), _float, _log, "the logarithm of {0}", required=1, constant=(1,)),
    Function("exp", "scalar", ("x",), (NUMBERS,), _float, _exp, "e to the power {0}"),
    Function("pow", "scalar", ("x", "y"), (NUMBERS, NUMBERS), _float, _pow, "{0} to the power {1}"),
    # nulls and casts
    Function("coalesce", "scalar", ("x",), (ANY,), unify_types, _coalesce, "{0}, or the first that is not null", variadic=True, null_tolerant=True),
    Function("int", "scalar", ("x",), (frozenset({INT, FLOAT, BOOL, STRING, NULL}),), _const(INT), _to_int, "{0} as a whole number"),
    Function("float", "scalar", ("x",), (frozenset({INT, FLOAT, BOOL, STRING, NULL}),), _const(FLOAT), _to_float, "{0} as a number"),
    Function("str", "scalar", ("x",), (ANY,), _const(STRING), None, "{0} as text"),
    # aggregates
    Function("count", "aggregate", ("x",), (ANY,), _const(INT), lambda s=None: s.count(), "the number of rows",
             required=0, grouped=lambda gb, cols, consts: gb[cols[0]].count()),
    _agg("count_distinct", whole=lambda s: s.nunique(), grouped=lambda gb, cols, c: gb[cols[0]].nunique(), result=_const(INT), accepts=ANY, english="the number of distinct {0}"),
    _agg("sum", whole=_sum, grouped=_grouped_sum, result=_sum_type, accepts=NUMERIC, english="the total {0}"),
    _agg("mean", result=_float, accepts=NUMERIC, english="the average {0}"),
    _agg("median", result=_float, accepts=NUMERIC, english="the median {0}"),
    _agg("min", english="the smallest {0}"),
    _agg("max", english="the largest {0}"),
    _agg("std", result=_float, accepts=NUMERIC, english="the standard deviation of {0}"),
    _agg("var", result=_float, accepts=NUMERIC, english="the variance of {0}"),
    _agg("quantile", whole=_quantile_whole, grouped=_quantile_grouped, result=_float, accepts=NUMERIC, params=("x", "q"), constant=(1,), english="the {1} quantile of {0}", check_constants=_between(1, "q", 0, 1)),
    _agg("mode", whole=_mode_whole, grouped=_mode_grouped, accepts=ANY, english="the most frequent {0}"),
    _agg("first", whole=lambda s: s.dropna().iloc[0] if s.notna().any() else None, accepts=ANY, english="the first {0}"),
    _agg("last", whole=lambda s: s.dropna().iloc[-1] if s.notna().any() else None, accepts=ANY, english="the last {0}"),
    _agg("corr", whole=_corr_whole, grouped=_corr_grouped, result=_float, params=("x", "y"), acc=(NUMERIC, NUMERIC), english="the correlation of {0} and {1}"),
    _agg("skew", result=_float, accepts=NUMERIC, english="the skewness of {0}"),
    _agg("kurtosis", whole=lambda s: s.astype(float).kurt(), grouped=lambda gb, cols, c: gb[cols[0]].apply(lambda s: s.astype(float).kurt()), result=_float, accepts=NUMERIC, english="the kurtosis of {0}"),
    # windows: implemented in planner.evaluate, which knows the partition
    Function("rank", "window", ("x",), (ORDERABLE,), _const(INT), None, "the rank by {0}", ordered=True),
    Function("dense_rank", "window", ("x",), (ORDERABLE,), _const(INT), None, "the dense rank by {0}", ordered=True),
    Function("row_number", "window", ("x",), (ORDERABLE,), _const(INT), None, "the row number", required=0, ordered=True),
    Function("cumsum", "window", ("x",), (NUMERIC,), _sum_type, None, "the running total of {0}"),
    Function("lag", "window", ("x", "n"), (ANY, frozenset({INT})), _same, None, "the {0} of the row {1} before", required=1, constant=(1,), check_constants=_between(1, "n", 0, 1e9), defaults=("1",)),
    Function("lead", "window", ("x", "n"), (ANY, frozenset({INT})), _same, None, "the {0} of the row {1} after", required=1, constant=(1,), check_constants=_between(1, "n", 0, 1e9), defaults=("1",)),
    Function("pct_change", "window", ("x",), (NUMERIC,), _float, None, "the relative change of {0} from the previous row"),
)

# Names people and models reach for from SQL and pandas, and what to write instead.
SYNONYMS = {
    "avg": "mean", "average": "mean", "stddev": "std", "stdev": "std", "variance": "var",
    "nunique": "count_distinct", "len": "length", "substring": "substr", "trim": "strip",
    "ifnull": "coalesce", "nvl": "coalesce", "isnull": "coalesce", "datediff": "date_diff",
    "dayofweek": "weekday", "day_name": "weekday", "power": "pow", "ln": "log", "cast": "int, float, str or date",
    "percentile": "quantile", "percentile_cont": "quantile", "startswith": "starts_with", "endswith": "ends_with",
    "kurt": "kurtosis", "size": "count", "cumulative_sum": "cumsum", "shift": "lag",
    "if": "case when ... then ... else ... end", "iif": "case when ... then ... else ... end",
    "to_date": "date", "strftime": "year, month, day or weekday",
}

