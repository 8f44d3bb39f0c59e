"""Hypothesis strategies for fuzzing: ``tables()`` makes DataFrames with every type the
language has (nulls everywhere, NaN and infinities, unicode, empty strings, duplicate keys,
empty and one-row tables); ``programs(schema)`` makes well-typed multi-statement programs
over a schema that use every transform, expression form, aggregate, window function and
window aggregate, regex and text function, and record answers.

The distribution functions and statistical tests (scipy only) and ``mode`` have no SQL form,
so a program using them is checked canonical-against-written but not against DuckDB (its
outcome is "unsupported"); they are drawn rarely so most programs still reach the oracle."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import strategies as st

from csvdsl.check import join_column_name
from csvdsl.errors import quote_name
from csvdsl.format import format_expr
from csvdsl import ast

TEXT = st.sampled_from(["", " ", "a", "b", "A b", "ü", "é ö", "x y", "JFK", "lga", "a,b", "'q'", "z", "1,234", "−3.5",
                        "45%", "$12", "10th", "a\nb", "(7 mi)", "a,,b,",
                        # near-misses of the shapes int, float, date and datetime read text by
                        " 12 ", "\t7\n", "1_000", "+.5e3", "-0", "inf", "nan", "2020-01-05", " 2013-06-01T08:00:00.1234567Z",
                        "2020-01-05 10:11 +05:00", "2020-01-05 24:00", "2020-02-30", "20200105", "now", "0001-01-01T00:30+01:00"])
PATTERNS = ["^a", "[a-z]+", "(a|b)", "\\s", "é", "^$", "x*", ",", "(\\w)(\\w)?", "\\d+", "(?i)jfk", "\\((\\d+) mi\\)"]
REWRITES = ["", "-", "\\1", "<\\0>"]
SEPARATORS = [",", " ", "\n", "ab"]
FLOATS = st.one_of(st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: round(v, 3)), st.sampled_from([0.0, -0.0, 1.5, float("inf"), float("-inf")]))
DATES = st.dates(dt.date(1999, 1, 1), dt.date(2030, 12, 31))
TIMES = st.datetimes(dt.datetime(1999, 1, 1), dt.datetime(2030, 12, 31)).map(lambda t: t.replace(microsecond=0))


def _maybe(strategy, null_chance: bool = True):
    return st.one_of(st.none(), strategy) if null_chance else strategy


@st.composite
def tables(draw, min_rows: int = 0, max_rows: int = 8):
    """A table with columns k (int key, repeats), g (text), x (float), y (int), b (bool), d (date),
    ts (datetime)."""
    n = draw(st.integers(min_rows, max_rows))
    column = lambda strategy: draw(st.lists(strategy, min_size=n, max_size=n))  # noqa: E731
    frame = pd.DataFrame({
        "k": pd.Series(column(_maybe(st.integers(0, 3))), dtype="float64"),
        "g": pd.Series(column(_maybe(TEXT)), dtype="str"),
        "x": pd.Series(column(_maybe(FLOATS)), dtype="float64"),
        "y": pd.Series(column(st.integers(-50, 50)), dtype="int64"),
        "b": pd.Series(column(_maybe(st.booleans())), dtype="boolean"),
        "d": pd.to_datetime(pd.Series(column(_maybe(DATES)), dtype="object")).astype("datetime64[us]"),
        "ts": pd.to_datetime(pd.Series(column(_maybe(TIMES)), dtype="object")).astype("datetime64[us]"),
    })
    return frame


SCHEMA = {"k": "int", "g": "string", "x": "float", "y": "int", "b": "bool", "d": "date", "ts": "datetime"}


def _groups(pattern: str) -> int:
    """How many capture groups a pattern of PATTERNS has (escaped and `(?` parentheses capture nothing)."""
    return pattern.count("(") - pattern.count("\\(") - pattern.count("(?")


def _lit(value) -> str:
    return format_expr(ast.Literal(value))


class _Exprs:
    """Expressions of a given type over the columns in scope."""

    def __init__(self, draw, columns: dict[str, str]):
        self.draw, self.columns = draw, columns

    def of(self, kinds) -> list[str]:
        return [quote_name(c) for c, k in self.columns.items() if k in kinds]

    def number(self, depth=0) -> str:
        draw = self.draw
        options = ["column", "literal"] + (["arith", "func", "case", "coalesce", "neg", "clock"] if depth < 2 else [])
        choice = draw(st.sampled_from(options))
        columns = self.of(("int", "float"))
        if choice == "column" and columns:
            return draw(st.sampled_from(columns))
        if choice == "arith":
            op = draw(st.sampled_from(["+", "-", "*", "/", "%"]))
            return f"({self.number(depth + 1)} {op} {self.number(depth + 1)})"
        if choice == "func":
            name = draw(st.sampled_from(["abs", "round", "floor", "ceil", "sqrt", "length", "year", "month", "day",
                                         "log", "exp", "int", "float", "date_diff", "number", "position", "number",
                                         "position", "distribution"]))
            if name == "number":
                return f"number({self.text(depth + 1)})"
            if name == "position":
                return f"position({self.text(depth + 1)}, {_lit(draw(TEXT))})"
            if name == "distribution":  # scipy only: the program skips the SQL oracle
                function = draw(st.sampled_from(["normal_cdf", "normal_ppf", "t_cdf", "chi2_cdf"]))
                if function in ("normal_cdf", "normal_ppf") and draw(st.booleans()):
                    return f"{function}({self.number(depth + 1)})"
                return f"{function}({self.number(depth + 1)}, {self.number(depth + 1)}{', 2' if function.startswith('normal') else ''})"
            if name == "length":
                return f"length({self.text(depth + 1)})"
            if name in ("year", "month", "day"):
                return f"{name}({self.date()})" if self.of(("date",)) else self.number(depth + 1)
            if name == "date_diff":
                return f"date_diff({self.date()}, {_lit(str(draw(DATES)))})" if self.of(("date",)) else self.number(depth + 1)
            if name == "round":
                return f"round({self.number(depth + 1)}, {draw(st.integers(0, 3))})"
            if name == "exp":
                return f"exp({self.number(depth + 1)} / 1000.0)"
            if name in ("int", "float") and draw(st.booleans()):
                return f"{name}({self.text(depth + 1)})"
            if name == "int":
                return f"int({self.number(depth + 1)})"
            return f"{name}({self.number(depth + 1)})"
        if choice == "case":
            return f"case when {self.boolean(depth + 1)} then {self.number(depth + 1)} else {self.number(depth + 1)} end"
        if choice == "coalesce":
            return f"coalesce({self.number(depth + 1)}, {self.number(depth + 1)})"
        if choice == "neg":
            return f"-({self.number(depth + 1)})"
        if choice == "clock" and self.of(("datetime",)):
            column = draw(st.sampled_from(self.of(("datetime",))))
            part = draw(st.sampled_from(["hour", "minute", "day", "year"]))
            return f"{part}({column})"
        return _lit(draw(st.one_of(st.integers(-20, 20), st.sampled_from([0.5, 2.5, -1.25, 100.0]))))

    def text(self, depth=0) -> str:
        draw = self.draw
        choice = draw(st.sampled_from(["column", "literal", "func", "str"] if depth < 2 else ["column", "literal"]))
        columns = self.of(("string",))
        if choice == "column" and columns:
            return draw(st.sampled_from(columns))
        if choice == "func":
            name = draw(st.sampled_from(["lower", "upper", "strip", "substr", "replace", "concat", "weekday", "coalesce",
                                         "extract", "regex_replace", "split_part", "substr_computed"]))
            if name == "substr":
                return f"substr({self.text(depth + 1)}, {draw(st.integers(-1, 3))}, {draw(st.integers(0, 3))})"
            if name == "substr_computed":
                whole = self.of(("int",))
                start = draw(st.sampled_from(whole)) if whole and draw(st.booleans()) else f"position({self.text(depth + 1)}, {_lit(draw(TEXT))})"
                return f"substr({self.text(depth + 1)}, {start}{', ' + str(draw(st.integers(0, 3))) if draw(st.booleans()) else ''})"
            if name == "extract":
                group = draw(st.integers(0, 2))
                pattern = draw(st.sampled_from([p for p in PATTERNS if _groups(p) >= group]))
                return f"extract({self.text(depth + 1)}, {_lit(pattern)}{f', {group}' if group or draw(st.booleans()) else ''})"
            if name == "regex_replace":
                pattern = draw(st.sampled_from(PATTERNS))
                rewrite = draw(st.sampled_from([r for r in REWRITES if "\\1" not in r or _groups(pattern) >= 1]))
                return f"regex_replace({self.text(depth + 1)}, {_lit(pattern)}, {_lit(rewrite)})"
            if name == "split_part":
                return f"split_part({self.text(depth + 1)}, {_lit(draw(st.sampled_from(SEPARATORS)))}, {draw(st.sampled_from([-2, -1, 1, 2, 3]))})"
            if name == "replace":
                return f"replace({self.text(depth + 1)}, {_lit(draw(TEXT))}, {_lit(draw(TEXT))})"
            if name == "concat":
                return f"concat({self.text(depth + 1)}, {self.text(depth + 1)})"
            if name == "weekday":
                return f"weekday({self.date()})" if self.of(("date",)) else self.text(depth + 1)
            if name == "coalesce":
                return f"coalesce({self.text(depth + 1)}, {_lit(draw(TEXT))})"
            return f"{name}({self.text(depth + 1)})"
        if choice == "str":
            part = draw(st.sampled_from(["number", "boolean", "date"]))
            return f"str({self.date() if part == 'date' and self.of(('date',)) else self.boolean(depth + 1) if part == 'boolean' else self.number(depth + 1)})"
        return _lit(draw(TEXT))

    def date(self) -> str:
        draw = self.draw
        choice = draw(st.sampled_from(["column", "parse", "truncate", "read"]))
        if choice == "parse":
            return f'date({_lit(str(draw(DATES)))})'
        if choice == "read":
            return f"date({self.text(1)})"
        if choice == "truncate" and self.of(("datetime",)):
            return f"date({draw(st.sampled_from(self.of(('datetime',))))})"
        return draw(st.sampled_from(self.of(("date",))))

    def boolean(self, depth=0) -> str:
        draw = self.draw
        options = ["compare", "text_compare", "is_null", "in", "between", "string_test", "bool_column", "matches"]
        if depth < 2:
            options += ["and", "or", "not"]
        choice = draw(st.sampled_from(options))
        if choice == "compare":
            return f"{self.number(depth + 1)} {draw(st.sampled_from(['==', '!=', '<', '<=', '>', '>=']))} {self.number(depth + 1)}"
        if choice == "text_compare":
            return f"{self.text(depth + 1)} {draw(st.sampled_from(['==', '!=', '<', '>=']))} {self.text(depth + 1)}"
        if choice == "is_null":
            columns = list(self.columns)
            return f"{quote_name(draw(st.sampled_from(columns)))} is {draw(st.sampled_from(['', 'not ']))}null"
        if choice == "in":
            values = draw(st.lists(st.one_of(st.none(), TEXT), max_size=3))
            return f"{self.text(depth + 1)} {draw(st.sampled_from(['', 'not ']))}in [{', '.join(_lit(v) for v in values)}]"
        if choice == "between":
            return f"{self.number(depth + 1)} {draw(st.sampled_from(['', 'not ']))}between {self.number(depth + 1)} and {self.number(depth + 1)}"
        if choice == "string_test":
            name = draw(st.sampled_from(["contains", "starts_with", "ends_with"]))
            return f"{name}({self.text(depth + 1)}, {_lit(draw(TEXT))})"
        if choice == "matches":
            return f"matches({self.text(depth + 1)}, {_lit(draw(st.sampled_from(PATTERNS)))})"
        if choice == "bool_column" and self.of(("bool",)):
            return draw(st.sampled_from(self.of(("bool",))))
        if choice in ("and", "or"):
            return f"({self.boolean(depth + 1)} {choice} {self.boolean(depth + 1)})"
        if choice == "not":
            return f"not ({self.boolean(depth + 1)})"
        return f"{self.number(depth + 1)} > 0"

    def aggregate(self) -> str:
        draw = self.draw
        numbers = self.of(("int", "float"))
        name = draw(st.sampled_from(["count", "count_x", "count_distinct", "sum", "mean", "median", "min", "max", "std",
                                     "var", "quantile", "first", "last", "corr", "skew", "kurtosis", "share", "std_pop",
                                     "var_pop", "test"]))
        if name == "count" or not numbers:
            return "count()"
        column = draw(st.sampled_from(numbers))
        if name == "count_x":
            return f"count({draw(st.sampled_from(list(map(quote_name, self.columns))))})"
        if name == "count_distinct":
            return f"count_distinct({draw(st.sampled_from(list(map(quote_name, self.columns))))})"
        if name == "quantile":
            return f"quantile({column}, {draw(st.sampled_from([0.0, 0.25, 0.5, 0.9, 1.0]))})"
        if name == "corr":
            return f"corr({column}, {draw(st.sampled_from(numbers))})"
        if name == "share":
            return f"mean(case when {self.boolean(1)} then 1 else 0 end)"
        if name == "test":  # scipy only: the program skips the SQL oracle
            test = draw(st.sampled_from(["shapiro", "ks_norm", "normaltest", "pearson", "spearman", "kendall", "ttest",
                                         "ttest_equal", "mannwhitney", "chi2", "anova"]))
            suffix = draw(st.sampled_from(["_p", "_stat"]))
            if test in ("shapiro", "ks_norm", "normaltest"):
                return f"{test}{suffix}({column})"
            if test in ("pearson", "spearman", "kendall"):
                return f"{test}{'_p' if test == 'pearson' else draw(st.sampled_from(['', '_p']))}({column}, {draw(st.sampled_from(numbers))})"
            if test in ("ttest", "ttest_equal", "mannwhitney"):
                return f"{test}{suffix}({column}, {self.boolean(1)})"
            columns = list(map(quote_name, self.columns))
            first = draw(st.sampled_from(columns)) if test == "chi2" else column
            return f"{test}{suffix}({first}, {draw(st.sampled_from(columns))})"
        return f"{name}({column})"

    def window(self) -> str:
        draw = self.draw
        keys = [quote_name(c) for c, k in self.columns.items() if k in ("int", "string", "bool")]
        over = f" over {draw(st.sampled_from(keys))}" if keys and draw(st.booleans()) else ""
        name = draw(st.sampled_from(["rank", "dense_rank", "row_number", "cumsum", "lag", "lead", "pct_change",
                                     "aggregate", "aggregate", "zscore"]))
        if name == "aggregate":  # a window aggregate: over the whole table, one key or two
            choice = draw(st.sampled_from(["()", "one", "two"]))
            if choice == "one" and keys:
                over = f" over {draw(st.sampled_from(keys))}"
            elif choice == "two" and len(keys) > 1:
                over = " over (" + ", ".join(draw(st.lists(st.sampled_from(keys), min_size=2, max_size=2, unique=True))) + ")"
            else:
                over = " over ()"
            return f"{self.aggregate()}{over}"
        if name == "zscore":
            if not self.of(("int", "float")):
                return f"count(){over or ' over ()'}"
            column = draw(st.sampled_from(self.of(("int", "float"))))
            return f"({column} - mean({column}){over or ' over ()'}) / std({column}){over or ' over ()'}"
        if name in ("rank", "dense_rank"):
            return f"{name}({self.number(1)}{draw(st.sampled_from(['', ' desc']))}){over}"
        if name == "row_number":
            return f"row_number(){over}"
        if name in ("lag", "lead"):
            return f"{name}({self.number(1)}, {draw(st.integers(1, 2))}){over}"
        return f"{name}({self.number(1)}){over}"


def _types_after(columns: dict[str, str], name: str, kind: str) -> dict[str, str]:
    return {**columns, name: kind}


# Answers of one value over a number read from a binding of one row (`{ref}`). Those that jump
# (comparisons, rounding, a division by what may be near 0) take whole numbers only: pandas and
# DuckDB may compute a float statistic a bit apart (corr(y, y) of two rows: 0.9999999999999999
# against 1.0), which the numeric tolerance allows but `>= 1` would turn into two answers.
SCALAR_ANSWERS = ("{ref} * 2 - 1", "coalesce({ref}, 0) + 1", "sqrt(abs({ref}))", "{ref} + {ref} * {ref}")
WHOLE_ANSWERS = SCALAR_ANSWERS + (
    "-{ref} / ({ref} - 1)", "round({ref} / 3, 2)", "{ref} > 1 and {ref} is not null", "abs(-{ref}) <= 2.5",
    'case when {ref} >= 1 then "many" when {ref} is null then "none" else "few" end', "{ref} between -1 and 3",
    "{ref} % 2", "floor({ref} * 1.5)", "{ref} in [0, 1, 2]", "not ({ref} < 0.5)", "int({ref}) + 1",
)


@st.composite
def programs(draw, schema: dict[str, str] = SCHEMA, table: str = "t", max_steps: int = 5):
    """A well-typed program over one table: a few bindings, then an answer."""
    columns = dict(schema)
    lines = []
    current = table
    single = False
    for index in range(draw(st.integers(1, max_steps))):
        exprs = _Exprs(draw, columns)
        kind = draw(st.sampled_from(["filter", "derive", "window", "select", "sort", "take", "distinct", "group",
                                     "aggregate", "rename", "drop", "join", "scalar_filter", "split", "cross_join"]))
        name = f"s{index}"
        if kind == "filter":
            step = f"filter {exprs.boolean()}"
        elif kind == "derive":
            new = f"c{index}"
            value = draw(st.sampled_from(["number", "text", "boolean"]))
            step = f"derive {new} = {getattr(exprs, value)()}"
            columns = _types_after(columns, new, {"number": "float", "text": "string", "boolean": "bool"}[value])
        elif kind == "window":
            new = f"w{index}"
            step = f"derive {new} = {exprs.window()}"
            columns = _types_after(columns, new, "float")
        elif kind == "select" and len(columns) > 1:
            keep = draw(st.lists(st.sampled_from(list(columns)), min_size=1, max_size=len(columns), unique=True))
            step = "select " + ", ".join(map(quote_name, keep))
            columns = {c: columns[c] for c in keep}
        elif kind == "sort":
            keys = draw(st.lists(st.sampled_from(list(columns)), min_size=1, max_size=2, unique=True))
            step = "sort " + ", ".join(quote_name(k) + draw(st.sampled_from(["", " desc"])) for k in keys)
        elif kind == "take":
            count = draw(st.integers(0, 4))
            step = f"take {count}"
            single = single or count <= 1
        elif kind == "distinct":
            keep = draw(st.lists(st.sampled_from(list(columns)), max_size=2, unique=True))
            step = "distinct" + (" " + ", ".join(map(quote_name, keep)) if keep else "")
            if keep:
                columns = {c: columns[c] for c in keep}
        elif kind in ("group", "aggregate"):
            keys = draw(st.lists(st.sampled_from([c for c, k in columns.items() if k != "float"] or list(columns)), min_size=1, max_size=2, unique=True)) if kind == "group" else []
            items = [f"a{index}_{i} = {exprs.aggregate()}" for i in range(draw(st.integers(1, 3)))]
            step = (f"group {', '.join(map(quote_name, keys))} aggregate " if keys else "aggregate ") + ", ".join(items)
            columns = {**{k: columns[k] for k in keys}, **{item.split(" = ")[0]: "float" for item in items}}
            single = single or not keys
        elif kind == "rename":
            old = draw(st.sampled_from(list(columns)))
            new = f"r{index}"
            step = f"rename {new} = {quote_name(old)}"
            columns = {(new if c == old else c): k for c, k in columns.items()}
        elif kind == "drop" and len(columns) > 1:
            gone = draw(st.sampled_from(list(columns)))
            step = f"drop {quote_name(gone)}"
            columns = {c: k for c, k in columns.items() if c != gone}
        elif kind == "join" and "k" in schema:
            lines.append(f"u{index} = {table} | distinct k | derive kk{index} = k * 10")
            step = f"join {draw(st.sampled_from(['', 'left ']))}u{index} on {quote_name('k') if 'k' in columns else None}"
            if "k" not in columns:
                continue
            columns = _types_after(columns, f"kk{index}", "float")
            single = False  # as the checker sees a join: any number of rows
        elif kind == "split" and exprs.of(("string",)):
            column = draw(st.sampled_from(exprs.of(("string",))))
            step = f"split {column} on {_lit(draw(st.sampled_from(SEPARATORS)))}"
            single = False
        elif kind == "cross_join" and {"k", "g"} <= set(schema):
            lines.append(f"u{index} = {table} | take {draw(st.integers(0, 2))} | select k, g")
            taken = set(columns)
            for right, right_kind in (("k", "int"), ("g", "string")):
                new = join_column_name(right, taken, f"u{index}")
                columns = _types_after(columns, new, schema.get(right, right_kind))
                taken.add(new)
            step = f"join cross u{index}"
            single = False  # u may hold two rows
        elif kind == "scalar_filter" and _Exprs(draw, schema).of(("int", "float")):
            number = draw(st.sampled_from(_Exprs(draw, schema).of(("int", "float"))))
            lines.append(f"m{index} = {table} | aggregate v = mean({number})")
            numbers = exprs.of(("int", "float"))
            if not numbers:
                continue
            step = f"filter {draw(st.sampled_from(numbers))} > m{index}.v"
        else:
            continue
        lines.append(f"{name} = {current} | {step}")
        current = name
    if current == table:
        lines.append(f"s = {table} | take 3")
        current = "s"
    numbers = [c for c, k in columns.items() if k in ("int", "float")]
    if single and numbers and draw(st.booleans()):  # one value computed from the row's values
        column = draw(st.sampled_from(numbers))
        answers = WHOLE_ANSWERS if columns[column] == "int" else SCALAR_ANSWERS
        lines.append("answer " + draw(st.sampled_from(answers)).format(ref=f"{current}.{quote_name(column)}"))
    elif single and columns and draw(st.booleans()):
        column = draw(st.sampled_from(list(columns)))
        lines.append(f"answer {current}.{quote_name(column)}")
    elif single and columns and draw(st.booleans()):  # a record: several parts, a list among them
        parts = draw(st.lists(st.sampled_from(list(columns)), min_size=1, max_size=3, unique=True))
        record = [f"p{i} = {current}.{quote_name(c)}" for i, c in enumerate(parts)]
        record.append(f"rows = {table}.{quote_name(draw(st.sampled_from(list(schema))))}")
        lines.append("answer " + ", ".join(record))
    elif columns and draw(st.booleans()):
        lines.append(f"answer {current}.{quote_name(draw(st.sampled_from(list(columns))))}")
    else:
        lines.append(f"answer {current}")
    return "\n".join(lines) + "\n"


@st.composite
def one_value_programs(draw, schema: dict[str, str] = SCHEMA, table: str = "t"):
    """A program whose answer is one value computed from bindings of one row each (one of them
    made from the others' last binding), as the DuckDB engine computes such answers in SQL."""
    lines = draw(programs(schema, table)).strip().split("\n")[:-1]  # its answer goes
    last = lines[-1].split(" = ")[0]
    numbers = [c for c, k in schema.items() if k in ("int", "float")]
    first = draw(st.sampled_from(numbers))
    second = draw(st.sampled_from([c for c, k in schema.items() if k == "int"]))
    lines += [f"z_ = {last} | aggregate v = count()",
              f"q_ = {table} | filter {quote_name(first)} > 1 | aggregate m = mean({quote_name(first)}), s = sum({quote_name(second)})"]
    ref, whole = draw(st.sampled_from([("z_.v", True), ("q_.s", True), ("(z_.v - q_.s)", True), ("q_.m", False), ("(q_.m * z_.v)", False)]))
    lines.append("answer " + draw(st.sampled_from(WHOLE_ANSWERS if whole else SCALAR_ANSWERS)).format(ref=ref))
    return "\n".join(lines) + "\n"
