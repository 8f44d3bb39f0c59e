"""Function signatures: what each function of the expression language takes and returns,
which arguments must be literals, and its English phrase. The checker types calls from
these; the planner's function registry adds the pandas implementations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import pandas as pd

INT, FLOAT, STRING, BOOL, DATE, DATETIME, NULL = "int", "float", "string", "bool", "date", "datetime", "null"
NUMERIC = frozenset({INT, FLOAT, BOOL, NULL})
NUMBERS = frozenset({INT, FLOAT, NULL})
TEXT = frozenset({STRING, NULL})
TEMPORAL = frozenset({DATE, DATETIME, NULL})
ORDERABLE = frozenset({INT, FLOAT, BOOL, STRING, DATE, DATETIME, NULL})
ANY = None


@dataclass(frozen=True)
class Signature:
    """A function: ``accepts`` gives the allowed types per parameter (None: any type);
    ``required`` of them must be given; ``constant`` parameters must be literals."""

    name: str
    kind: str  # scalar | aggregate | window
    params: tuple[str, ...]
    accepts: tuple
    result: Callable[[list[str]], str]
    english: str
    required: int | None = None
    constant: tuple[int, ...] = ()
    variadic: bool = False
    ordered: bool = False  # windows: takes `desc` on its argument
    null_tolerant: bool = False  # called even when an argument is null (SQL functions are not)
    check_constants: Callable | None = None  # argument values -> (position, problem) or None
    defaults: tuple = ()  # how the English phrase reads omitted trailing arguments

    @property
    def min_args(self) -> int:
        return len(self.params) if self.required is None else self.required


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


def _const(kind):
    return lambda types: kind


def _float(types):
    return FLOAT


def _sum_type(types):
    return FLOAT if FLOAT in types else INT


VARIABLE = object()  # what ``check_constants`` sees for an argument that is not a literal


def _between(position: int, name: str, low: float, high: float):
    def check(constants):
        value = constants[position] if position < len(constants) else None
        if value is VARIABLE:
            return None
        if position < len(constants) and (value is None or isinstance(value, (bool, str)) or not low <= value <= high):
            return position, f"`{name}` must be a number from {low:g} to {high:g}"
        return None

    return check


def _strftime_format(constants):
    if len(constants) < 2 or constants[1] is None:
        return None
    try:
        pd.to_datetime(pd.Series(["2000-01-02"]), format=constants[1], errors="coerce")
    except (ValueError, TypeError, re.error) as error:  # "%Y%Y" fails in pandas' own regex
        return 1, f"{constants[1]!r} is not a date format: {error}"
    return None


def _pattern(position: int, replacement: int | None = None, group: int | None = None):
    """A regex argument must compile in RE2 (the linear-time engine that runs it; Python's
    `re` never sees it), and a replacement or group number must fit its groups."""

    def check(constants):
        import pyarrow as pa
        import pyarrow.compute as pc

        pattern = constants[position] if position < len(constants) else None
        if not isinstance(pattern, str):
            return None
        sample = pa.array([""], pa.string())
        try:
            pc.match_substring_regex(sample, pattern=pattern)
        except pa.ArrowException as error:  # RE2 refused it
            return position, f"{pattern!r} is not a regular expression: {_arrow_reason(error)}", "bad-pattern", \
                "patterns are RE2 syntax: escape ( ) [ ] . * + ? with a backslash to match them as text"
        for index, rewrite in ((replacement, None), (group, None)):
            value = constants[index] if index is not None and index < len(constants) else None
            if index is None or not isinstance(value, (str, int)) or isinstance(value, bool):
                continue
            rewrite = value if index == replacement else f"\\{value}"
            try:
                pc.replace_substring_regex(sample, pattern=pattern, replacement=rewrite)
            except pa.ArrowException as error:  # RE2 refused it
                what = "replacement" if index == replacement else "group"
                return index, f"the {what} does not fit the pattern: {_arrow_reason(error)}", "bad-pattern", \
                    "groups are numbered from 1 by their opening parenthesis; \\0 is the whole match"
        return None

    return check


def _arrow_reason(error) -> str:
    return str(error).split(": ", 1)[-1]


def _nonzero(position: int, name: str):
    def check(constants):
        value = constants[position] if position < len(constants) else VARIABLE
        if value is not VARIABLE and (value == 0 or value is None):
            return position, f"`{name}` counts from 1 (or from -1 at the end), so it cannot be {value}"
        return None

    return check


def _not_empty(position: int, name: str):
    def check(constants):
        value = constants[position] if position < len(constants) else VARIABLE
        if value == "":
            return position, f"`{name}` cannot be the empty string"
        return None

    return check


def _all(*checks):
    def check(constants):
        return next((problem for c in checks if (problem := c(constants))), None)

    return check


def _aggregate(name, *, result=_same, accepts=ORDERABLE, english, params=("x",), constant=(), acc=None, check_constants=None):
    accepts_all = acc if acc is not None else (accepts,) + (NUMBERS,) * (len(params) - 1)
    return Signature(name, "aggregate", params, accepts_all, result, english, constant=constant,
                     check_constants=check_constants)


FLAGS = frozenset({BOOL, NULL})


def _test(name, english, acc, params=("x",)):
    """A statistical test as two aggregates: ``NAME_p`` (its p-value) and ``NAME_stat``."""
    return (_aggregate(f"{name}_p", result=_float, params=params, acc=acc, english=f"the p-value of {english}"),
            _aggregate(f"{name}_stat", result=_float, params=params, acc=acc, english=f"the statistic of {english}"))


SIGNATURES: dict[str, Signature] = {s.name: s for s in (
    # strings
    Signature('lower', 'scalar', ('s',), (TEXT,), _const(STRING), '{0} in lower case'),
    Signature('upper', 'scalar', ('s',), (TEXT,), _const(STRING), '{0} in upper case'),
    Signature('length', 'scalar', ('s',), (TEXT,), _const(INT), 'the length of {0}'),
    Signature('strip', 'scalar', ('s',), (TEXT,), _const(STRING), '{0} without surrounding whitespace'),
    Signature('contains', 'scalar', ('s', 'part'), (TEXT, TEXT), _const(BOOL), '{0} contains {1}', constant=(1,)),
    Signature('starts_with', 'scalar', ('s', 'prefix'), (TEXT, TEXT), _const(BOOL), '{0} starts with {1}', constant=(1,)),
    Signature('ends_with', 'scalar', ('s', 'suffix'), (TEXT, TEXT), _const(BOOL), '{0} ends with {1}', constant=(1,)),
    Signature('replace', 'scalar', ('s', 'old', 'new'), (TEXT, TEXT, TEXT), _const(STRING), '{0} with {1} replaced by {2}', constant=(1, 2)),
    Signature('substr', 'scalar', ('s', 'start', 'length'), (TEXT, frozenset({INT, NULL}), frozenset({INT, NULL})), _const(STRING), 'the part of {0} from position {1}', required=2, check_constants=_all(_between(1, 'start', -1000000000.0, 1000000000.0), _between(2, 'length', 0, 1000000000.0))),
    Signature('split_part', 'scalar', ('s', 'sep', 'n'), (TEXT, TEXT, frozenset({INT})), _const(STRING), 'part {2} of {0} split at {1}', constant=(1, 2), check_constants=_all(_not_empty(1, 'sep'), _nonzero(2, 'n'), _between(2, 'n', -1000000000.0, 1000000000.0))),
    Signature('position', 'scalar', ('s', 'part'), (TEXT, TEXT), _const(INT), 'the position of {1} in {0}', constant=(1,)),
    Signature('matches', 'scalar', ('s', 'pattern'), (TEXT, TEXT), _const(BOOL), '{0} matches the pattern {1}', constant=(1,), check_constants=_pattern(1)),
    Signature('extract', 'scalar', ('s', 'pattern', 'group'), (TEXT, TEXT, frozenset({INT})), _const(STRING), 'the part of {0} matching {1}', required=2, constant=(1, 2), check_constants=_all(_between(2, 'group', 0, 9), _pattern(1, group=2))),
    Signature('regex_replace', 'scalar', ('s', 'pattern', 'new'), (TEXT, TEXT, TEXT), _const(STRING), '{0} with each match of {1} replaced by {2}', constant=(1, 2), check_constants=_pattern(1, replacement=2)),
    Signature('number', 'scalar', ('s',), (TEXT,), _float, '{0} read as a number'),
    Signature('concat', 'scalar', ('s',), (ANY,), _const(STRING), '{0} joined together', variadic=True),
    # dates
    Signature('year', 'scalar', ('d',), (TEMPORAL,), _const(INT), 'the year of {0}'),
    Signature('month', 'scalar', ('d',), (TEMPORAL,), _const(INT), 'the month of {0}'),
    Signature('day', 'scalar', ('d',), (TEMPORAL,), _const(INT), 'the day of the month of {0}'),
    Signature('hour', 'scalar', ('d',), (TEMPORAL,), _const(INT), 'the hour of {0}'),
    Signature('minute', 'scalar', ('d',), (TEMPORAL,), _const(INT), 'the minute of {0}'),
    Signature('weekday', 'scalar', ('d',), (TEMPORAL,), _const(STRING), 'the weekday of {0}'),
    Signature('date', 'scalar', ('x', 'format'), (frozenset({STRING, DATE, DATETIME, NULL}), TEXT), _const(DATE), '{0} as a date', required=1, constant=(1,), check_constants=_strftime_format),
    Signature('datetime', 'scalar', ('x', 'format'), (frozenset({STRING, DATE, DATETIME, NULL}), TEXT), _const(DATETIME), '{0} as a date and time', required=1, constant=(1,), check_constants=_strftime_format),
    Signature('date_diff', 'scalar', ('end', 'start'), (TEMPORAL, TEMPORAL), _const(INT), 'the number of days from {1} to {0}'),
    # math
    Signature('abs', 'scalar', ('x',), (NUMBERS,), _same, 'the absolute value of {0}'),
    Signature('round', 'scalar', ('x', 'digits'), (NUMBERS, frozenset({INT})), lambda t: t[0] if t[0] != NULL else FLOAT, '{0}, rounded to {1} decimal places', required=1, constant=(1,), check_constants=_between(1, 'digits', -15, 15), defaults=('0',)),
    Signature('floor', 'scalar', ('x',), (NUMBERS,), _const(INT), '{0} rounded down'),
    Signature('ceil', 'scalar', ('x',), (NUMBERS,), _const(INT), '{0} rounded up'),
    Signature('sqrt', 'scalar', ('x',), (NUMBERS,), _float, 'the square root of {0}'),
    Signature('log', 'scalar', ('x', 'base'), (NUMBERS, NUMBERS), _float, 'the logarithm of {0}', required=1, constant=(1,)),
    Signature('exp', 'scalar', ('x',), (NUMBERS,), _float, 'e to the power {0}'),
    Signature('pow', 'scalar', ('x', 'y'), (NUMBERS, NUMBERS), _float, '{0} to the power {1}'),
    # distributions (scipy.stats)
    Signature('normal_cdf', 'scalar', ('x', 'mean', 'std'), (NUMBERS, NUMBERS, NUMBERS), _float, 'the normal probability of a value up to {0} (mean {1}, standard deviation {2})', required=1, defaults=('0', '1')),
    Signature('normal_ppf', 'scalar', ('q', 'mean', 'std'), (NUMBERS, NUMBERS, NUMBERS), _float, 'the normal value with probability {0} below it (mean {1}, standard deviation {2})', required=1, defaults=('0', '1')),
    Signature('t_cdf', 'scalar', ('x', 'df'), (NUMBERS, NUMBERS), _float, "the Student's t probability of a value up to {0} with {1} degrees of freedom"),
    Signature('chi2_cdf', 'scalar', ('x', 'df'), (NUMBERS, NUMBERS), _float, 'the chi-squared probability of a value up to {0} with {1} degrees of freedom'),
    # nulls and casts
    Signature('coalesce', 'scalar', ('x',), (ANY,), unify_types, '{0}, or the first that is not null', variadic=True, null_tolerant=True),
    Signature('int', 'scalar', ('x',), (frozenset({INT, FLOAT, BOOL, STRING, NULL}),), _const(INT), '{0} as a whole number'),
    Signature('float', 'scalar', ('x',), (frozenset({INT, FLOAT, BOOL, STRING, NULL}),), _const(FLOAT), '{0} as a number'),
    Signature('str', 'scalar', ('x',), (ANY,), _const(STRING), '{0} as text'),
    # aggregates
    Signature('count', 'aggregate', ('x',), (ANY,), _const(INT), 'the number of rows', required=0),
    _aggregate('count_distinct', result=_const(INT), accepts=ANY, english='the number of distinct {0}'),
    _aggregate('sum', result=_sum_type, accepts=NUMERIC, english='the total {0}'),
    _aggregate('mean', result=_float, accepts=NUMERIC, english='the average {0}'),
    _aggregate('median', result=_float, accepts=NUMERIC, english='the median {0}'),
    _aggregate('min', english='the smallest {0}'),
    _aggregate('max', english='the largest {0}'),
    _aggregate('std', result=_float, accepts=NUMERIC, english='the standard deviation of {0}'),
    _aggregate('var', result=_float, accepts=NUMERIC, english='the variance of {0}'),
    _aggregate('std_pop', result=_float, accepts=NUMERIC, english='the population standard deviation of {0}'),
    _aggregate('var_pop', result=_float, accepts=NUMERIC, english='the population variance of {0}'),
    _aggregate('quantile', result=_float, accepts=NUMERIC, params=('x', 'q'), constant=(1,), english='the {1} quantile of {0}', check_constants=_between(1, 'q', 0, 1)),
    _aggregate('mode', accepts=ANY, english='the most frequent {0}'),
    _aggregate('first', accepts=ANY, english='the first {0}'),
    _aggregate('last', accepts=ANY, english='the last {0}'),
    _aggregate('corr', result=_float, params=('x', 'y'), acc=(NUMERIC, NUMERIC), english='the correlation of {0} and {1}'),
    _aggregate('skew', result=_float, accepts=NUMERIC, english='the skewness of {0}'),
    _aggregate('kurtosis', result=_float, accepts=NUMERIC, english='the kurtosis of {0}'),
    # statistical tests (scipy.stats): each a p-value and its statistic
    *_test('shapiro', 'the Shapiro-Wilk normality test of {0}', (NUMERIC,)),
    *_test('ks_norm', 'the Kolmogorov-Smirnov test of {0} against a normal distribution', (NUMERIC,)),
    *_test('normaltest', "D'Agostino and Pearson's normality test of {0}", (NUMERIC,)),
    *_test('ttest', "Welch's t-test of {0} between rows where {1} and the others", (NUMERIC, FLAGS), ('x', 'in_first')),
    *_test('ttest_equal', "Student's t-test (equal variances) of {0} between rows where {1} and the others", (NUMERIC, FLAGS), ('x', 'in_first')),
    *_test('mannwhitney', 'the Mann-Whitney U test of {0} between rows where {1} and the others', (NUMERIC, FLAGS), ('x', 'in_first')),
    *_test('chi2', 'the chi-squared test of independence of {0} and {1}', (ANY, ANY), ('a', 'b')),
    *_test('anova', 'the one-way ANOVA of {0} across the groups of {1}', (NUMERIC, ANY), ('x', 'group')),
    _aggregate('pearson_p', result=_float, params=('x', 'y'), acc=(NUMERIC, NUMERIC), english='the p-value of the correlation of {0} and {1}'),
    _aggregate('spearman', result=_float, params=('x', 'y'), acc=(NUMERIC, NUMERIC), english='the rank correlation (Spearman) of {0} and {1}'),
    _aggregate('spearman_p', result=_float, params=('x', 'y'), acc=(NUMERIC, NUMERIC), english='the p-value of the rank correlation (Spearman) of {0} and {1}'),
    _aggregate('kendall', result=_float, params=('x', 'y'), acc=(NUMERIC, NUMERIC), english="Kendall's tau of {0} and {1}"),
    _aggregate('kendall_p', result=_float, params=('x', 'y'), acc=(NUMERIC, NUMERIC), english="the p-value of Kendall's tau of {0} and {1}"),
    # windows: implemented in planner.evaluate, which knows the partition
    Signature('rank', 'window', ('x',), (ORDERABLE,), _const(INT), 'the rank by {0}', ordered=True),
    Signature('dense_rank', 'window', ('x',), (ORDERABLE,), _const(INT), 'the dense rank by {0}', ordered=True),
    Signature('row_number', 'window', ('x',), (ORDERABLE,), _const(INT), 'the row number', required=0, ordered=True),
    Signature('cumsum', 'window', ('x',), (NUMERIC,), _sum_type, 'the running total of {0}'),
    Signature('lag', 'window', ('x', 'n'), (ANY, frozenset({INT})), _same, 'the {0} of the row {1} before', required=1, constant=(1,), check_constants=_between(1, 'n', 0, 1000000000.0), defaults=('1',)),
    Signature('lead', 'window', ('x', 'n'), (ANY, frozenset({INT})), _same, 'the {0} of the row {1} after', required=1, constant=(1,), check_constants=_between(1, 'n', 0, 1000000000.0), defaults=('1',)),
    Signature('pct_change', 'window', ('x',), (NUMERIC,), _float, 'the relative change of {0} from the previous row'),
)}

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
    "regexp_matches": "matches", "rlike": "matches", "regexp_extract": "extract", "regexp_replace": "regex_replace",
    "re_sub": "regex_replace", "strpos": "position", "instr": "position", "find": "position", "to_number": "number",
    "parse_number": "number", "stddev_pop": "std_pop", "pstdev": "std_pop", "pvariance": "var_pop",
    "ttest_ind": "ttest_p", "shapiro": "shapiro_p", "pearsonr": "pearson_p", "spearmanr": "spearman",
    "kendalltau": "kendall", "f_oneway": "anova_p", "mannwhitneyu": "mannwhitney_p", "chi2_contingency": "chi2_p",
    "kstest": "ks_norm_p", "norm_cdf": "normal_cdf", "norm_ppf": "normal_ppf", "pnorm": "normal_cdf", "qnorm": "normal_ppf",
}
