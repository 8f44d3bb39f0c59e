"""A plan as DuckDB SQL: one CTE per node, in the language's semantics (nulls last, stable
sorts, division by zero is null, first/last skip nulls). Run by the DuckDB engine
(planner/duckdb_backend.py) and by the oracle the executor is tested against (planner/oracle.py).

Every table carries a ``__rn`` column holding its row order, so order-dependent steps
(take, row_number, lag, cumsum, first, last) mean the same as over pandas; where nothing reads
a node's order (planner/sql_order.py) its ``__rn`` is null and costs no window."""

from __future__ import annotations

import re

from csvdsl import ast
from csvdsl.check import expression_type, join_column_name
from planner.compile import Plan, node_span
from planner.functions import FUNCTIONS
from planner.sql_order import ordered_nodes, sort_ties, top_of_sort
from planner.sql_text import extract, literal, number, number_of_text, quote, strip, substring, timestamp

ROW = "__rn"
_NO_ORDER = f"CAST(NULL AS BIGINT) AS {ROW}"  # nothing reads this node's order
# An expression's SQL past this many characters is left to pandas: nested functions that write
# their argument twice (str of a number) would double it at each level.
MAX_EXPRESSION_SQL = 1_000_000


class Unsupported(Exception):
    """A plan uses something this translation does not cover, at ``span`` (its expression's, or
    else its step's) where known."""

    def __init__(self, why: str, span=None):
        super().__init__(why)
        self.span = span


def relation(node: str) -> str:
    """The name a node's rows go by inside a query: its CTE, or a relation registered under it."""
    return f"n_{node[:16]}"


def input_relation(plan: Plan, node: str) -> str:
    """What a query reads for ``node``: a source's table itself (no CTE to bind), else ``relation``."""
    attrs = plan.node(node)
    return quote(attrs["spec"]) if attrs["op"] == "source" else relation(node)


class _Expr:
    """Expressions of one node; ``inputs`` are the CTE names of the node's inputs, ``types``
    the static types of the table the expressions read and of the inputs; ``read(index,
    column)`` writes an input's value (default: a scalar subquery of its first row)."""

    def __init__(self, inputs: list[str], table=None, input_types: tuple = (), read=None):
        self.inputs = inputs
        self.table = table
        self.input_types = input_types
        self.read = read or (lambda index, column: f"(SELECT {quote(column)} FROM {inputs[index]})")

    def type_of(self, expr) -> str:
        return expression_type(expr, self.table, self.input_types)

    def __call__(self, expr) -> str:
        sql = _EXPRESSIONS[type(expr)](self, expr)
        if len(sql) > MAX_EXPRESSION_SQL:  # a nested str() writes its argument more than once
            raise Unsupported(f"an expression longer than {MAX_EXPRESSION_SQL:,} characters in SQL", expr.span)
        return sql

    def literal(self, e):
        return literal(e.value)

    def column(self, e):
        return quote(e.name)

    def input_ref(self, e):
        if e.column is None:
            raise Unsupported("a whole table inside an expression", e.span)
        return self.read(e.index, e.column)

    def against(self, operand, other) -> str:
        """``other``, compared with ``operand``: a string constant compared with a date or a
        datetime is read as one, its UTC offset applied (as on pandas); DuckDB's own cast of
        the string to the column's TIMESTAMP would drop the offset."""
        if isinstance(other, ast.Literal) and isinstance(other.value, str) and self.type_of(operand) in ("date", "datetime"):
            return timestamp(literal(other.value))
        return self(other)

    def binary(self, e):
        if e.op in _COMPARISONS:
            a, b = self.against(e.right, e.left), self.against(e.left, e.right)
        else:
            a, b = self(e.left), self(e.right)
        if e.op == "/":
            return nan_null(f"(CAST({a} AS DOUBLE) / NULLIF(CAST({b} AS DOUBLE), 0))")
        if e.op == "%":
            remainder = f"({a} % NULLIF({b}, 0))"
            return nan_null(remainder) if self.type_of(e) == "float" else remainder  # inf % x is NaN
        result = f"({a} {_OPERATORS.get(e.op, e.op)} {b})"
        if e.op in ("+", "-", "*") and self.type_of(e) == "float":
            return nan_null(result)  # inf - inf
        return result

    def logical(self, e):
        return "(" + f" {e.op.upper()} ".join(self(o) for o in e.operands) + ")"

    def not_(self, e):
        return f"(NOT {self(e.operand)})"

    def neg(self, e):
        return f"(-{self(e.operand)})"

    def in_list(self, e):
        operand = self(e.operand)
        if not e.items:
            return f"(CASE WHEN {operand} IS NULL THEN NULL ELSE {'TRUE' if e.negated else 'FALSE'} END)"
        return f"({operand} {'NOT ' if e.negated else ''}IN ({', '.join(self.against(e.operand, i) for i in e.items)}))"

    def in_ref(self, e):
        ref = e.ref
        return f"({self(e.operand)} {'NOT ' if e.negated else ''}IN (SELECT {quote(ref.column)} FROM {self.inputs[ref.index]}))"

    def between(self, e):
        low, high = self.against(e.operand, e.low), self.against(e.operand, e.high)
        return f"({self(e.operand)} {'NOT ' if e.negated else ''}BETWEEN {low} AND {high})"

    def is_null(self, e):
        return f"({self(e.operand)} IS {'NOT ' if e.negated else ''}NULL)"

    def case(self, e):
        whens = " ".join(f"WHEN {self(c)} THEN {self(v)}" for c, v in e.whens)
        default = f" ELSE {self(e.default)}" if e.default is not None else ""
        return f"(CASE {whens}{default} END)"

    def call(self, e):
        function = FUNCTIONS[e.name]
        if e.name not in _FUNCTIONS:
            raise Unsupported(f"function {e.name}", e.span)
        args = []
        for position, arg in enumerate(e.args):
            if position in function.constant:
                args.append(arg.value)
            elif isinstance(arg, ast.Ordered):
                args.append((self(arg.expr), arg.descending))
            else:
                args.append(self(arg))
        partition = ", ".join(quote(c.name) for c in e.over)
        if function.kind == "aggregate":  # the builder appends this: an OVER clause for a window aggregate
            partition = f" OVER ({'PARTITION BY ' + partition if partition else ''})" if e.window else ""
        bound = {}
        if function.kind == "scalar":  # an argument is written in its place once it is known how often
            for position, arg in enumerate(args):
                if position not in function.constant and not _SIMPLE.fullmatch(arg):
                    marker = _unused(f"\x00{position}", args) + "\x00"
                    bound[marker], args[position] = arg, marker
        if e.name in _TYPED:
            args = [(a, self.type_of(x)) for a, x in zip(args, e.args)]
        result = _FUNCTIONS[e.name](args, partition)
        for marker, arg in bound.items():
            # Written twice, an argument nested in the same function would double the SQL at each
            # level (str(float(str(float(...)))) took DuckDB minutes to bind): a lambda binds it,
            # unless the lambda's body would hold a subquery, which DuckDB refuses there.
            body = _filled(result, bound, marker) if result.count(marker) > 1 else None
            if body is not None and not _SUBQUERY.search(body):
                name = _unused("__csvdsl_arg", [body.lower()])  # no column of the body is called so
                result = f"list_transform([{arg}], lambda {name}: {result.replace(marker, name)})[1]"
            else:
                result = result.replace(marker, arg)
        return nan_null(result) if e.name in _MAY_BE_NAN and self.type_of(e) == "float" else result


def _clamped_correlation(sql: str) -> str:
    """A correlation kept in [-1, 1] as numpy keeps it (DuckDB gives 1.0000000000000002 for
    corr(y, y)); NaN passes untouched: DuckDB orders NaN above every number."""
    return f"(CASE WHEN isnan({sql}) THEN {NAN} WHEN {sql} > 1 THEN 1.0 WHEN {sql} < -1 THEN -1.0 ELSE {sql} END)"


def _filled(sql: str, bound: dict, kept: str) -> str:
    """``sql`` with every bound argument written in but ``kept``."""
    for marker, arg in bound.items():
        sql = sql if marker == kept else sql.replace(marker, arg)
    return sql


def _unused(stem: str, texts) -> str:
    """``stem``, numbered if need be, so that it occurs in none of ``texts``."""
    name, n = stem, 0
    while any(name in str(text) for text in texts):
        name, n = f"{stem}_{n}", n + 1
    return name


_SUBQUERY = re.compile(r"\bSELECT\b", re.IGNORECASE)
# SQL that may be written more than once as it is: a column, a constant.
_SIMPLE = re.compile(r'"(?:[^"]|"")*"|\'(?:[^\']|\'\')*\'|CAST\([-+.0-9e]+ AS (?:BIGINT|DOUBLE)\)|NULL|TRUE|FALSE')
# Functions whose SQL depends on the static type of each argument: text of a number, a number or time of text.
_TYPED = ("str", "concat", "int", "float", "date", "datetime")
_OPERATORS = {"==": "=", "!=": "<>"}
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
# In the language NaN is null; DuckDB keeps NaN (corr of one row, inf - inf, ...).
_MAY_BE_NAN = {"mean", "median", "std", "var", "std_pop", "var_pop", "quantile", "corr", "skew", "kurtosis", "sqrt", "log", "exp", "pct_change",
               "round", "floor", "ceil", "abs", "float", "sum", "min", "max", "cumsum", "coalesce"}


NAN = "CAST('NaN' AS DOUBLE)"


def nan_null(sql: str) -> str:
    # DuckDB holds NaN equal to NaN; one copy of ``sql``, not two (nested, they doubled the text
    # at each level). planner/dialects.py spells this out for engines where NaN <> NaN.
    return f"nullif({sql}, {NAN})"

_EXPRESSIONS = {
    ast.Literal: _Expr.literal,
    ast.Column: _Expr.column,
    ast.InputRef: _Expr.input_ref,
    ast.Binary: _Expr.binary,
    ast.Logical: _Expr.logical,
    ast.Not: _Expr.not_,
    ast.Neg: _Expr.neg,
    ast.InList: _Expr.in_list,
    ast.InRef: _Expr.in_ref,
    ast.Between: _Expr.between,
    ast.IsNull: _Expr.is_null,
    ast.Case: _Expr.case,
    ast.Call: _Expr.call,
}


def _over(partition: str, order: str) -> str:
    parts = ([f"PARTITION BY {partition}"] if partition else []) + [f"ORDER BY {order}"]
    return f"OVER ({' '.join(parts)})"


def _ordering(arg) -> tuple[str, str]:
    """An ordered window argument (`x` or `x desc`) as its value and its ORDER BY term."""
    value, descending = arg if isinstance(arg, tuple) else (arg, False)
    return value, f"{value} {'DESC' if descending else 'ASC'} NULLS LAST"


def _rank(kind):
    def sql(args, partition):
        value, order = _ordering(args[0])
        ranked = f"{kind}() {_over(partition, order)}"
        return f"(CASE WHEN {value} IS NULL THEN NULL ELSE {ranked} END)"

    return sql


def _row_number(args, partition):
    if not args:
        return f"row_number() {_over(partition, ROW)}"
    _, order = _ordering(args[0])
    return f"row_number() {_over(partition, f'{order}, {ROW}')}"


def _shift(direction):
    def sql(args, partition):
        steps = args[1] if len(args) > 1 else 1
        return f"{direction}({args[0]}, {steps}) {_over(partition, ROW)}"

    return sql


def _text_of(x: str, kind: str) -> str:
    """`str()` as the executor writes it: whole numbers without .0, true/false, ISO dates."""
    if kind in ("int", "float"):
        return (f"(CASE WHEN {x} = trunc({x}) AND abs({x}) < 9.2e18 THEN CAST(CAST({x} AS BIGINT) AS VARCHAR) "
                f"ELSE CAST({x} AS VARCHAR) END)")
    if kind == "bool":
        return f"(CASE {x} WHEN TRUE THEN 'true' WHEN FALSE THEN 'false' END)"
    if kind in ("date", "datetime"):  # midnight is left out, and a fraction of no microseconds
        full = f"strftime({x}, '%Y-%m-%d %H:%M:%S.%f')"
        return f"regexp_replace(regexp_replace({full}, ' 00:00:00[.]000000$', ''), '[.]000000$', '')"
    return f"CAST({x} AS VARCHAR)"


def _cast_text(args, partition):
    return _text_of(*args[0])


def _finite_only(function: str, x: str, over: str = "") -> str:
    """Over infinities DuckDB raises where the language gives null (NaN)."""
    value = f"CAST({x} AS DOUBLE)"
    return (f"(CASE WHEN bool_or(isinf({value})){over} THEN NULL "
            f"ELSE {function}({value}) FILTER (WHERE NOT isinf({value})){over} END)")


def _double(x: str, kind: str) -> str:
    return number_of_text(x) if kind == "string" else f"TRY_CAST({x} AS DOUBLE)"


def _time(args) -> str:
    (x, kind), fmt = args[0], args[1][0] if len(args) > 1 else None
    if kind in ("date", "datetime"):
        return f"CAST({x} AS TIMESTAMP)"  # a format is not used
    if fmt is not None:
        raise Unsupported("a date format (DuckDB's strptime reads other text than pandas')")
    return timestamp(x)


def _round(x: str, scale: str) -> str:
    # As on pandas (planner/functions.py): half away from zero after scaling, which rounds the
    # 2.675 a CSV holds to 2.68; DuckDB's round works on the binary value (2.67499...): 2.67.
    return f"(sign({x}) * floor(abs({x}) * {scale} + 0.5) / {scale})"


def _plain(name):
    return lambda args, partition: f"{name}({', '.join(str(a) for a in args)})"


_FUNCTIONS = {
    "lower": _plain("lower"),
    "upper": _plain("upper"),
    "length": _plain("length"),
    "strip": lambda a, p: strip(a[0]),
    "contains": lambda a, p: f"contains({a[0]}, {literal(a[1])})",
    "starts_with": lambda a, p: f"starts_with({a[0]}, {literal(a[1])})",
    "ends_with": lambda a, p: f"suffix({a[0]}, {literal(a[1])})",
    "replace": lambda a, p: f"replace({a[0]}, {literal(a[1])}, {literal(a[2])})",
    "substr": lambda a, p: substring(a),
    "split_part": lambda a, p: f"split_part({a[0]}, {literal(a[1])}, {int(a[2])})",
    "position": lambda a, p: f"strpos({a[0]}, {literal(a[1])})",
    "matches": lambda a, p: f"regexp_matches({a[0]}, {literal(a[1])})",
    "extract": lambda a, p: extract(a),
    "regex_replace": lambda a, p: f"regexp_replace({a[0]}, {literal(a[1])}, {literal(a[2])}, 'g')",
    "number": lambda a, p: number(a),
    "concat": lambda a, p: "(" + " || ".join(_text_of(x, kind) for x, kind in a) + ")",
    "year": _plain("year"),
    "month": _plain("month"),
    "day": _plain("day"),
    "hour": _plain("hour"),
    "minute": _plain("minute"),
    "weekday": _plain("dayname"),
    "date": lambda a, p: f"CAST({_time(a)} AS DATE)",
    "datetime": lambda a, p: _time(a),
    "date_diff": lambda a, p: f"date_diff('day', {a[1]}, {a[0]})",
    "abs": _plain("abs"),
    "round": lambda a, p: _round(f"CAST({a[0]} AS DOUBLE)", literal(10.0 ** int(a[1] if len(a) > 1 else 0))),
    "floor": lambda a, p: f"TRY_CAST(floor(CAST({a[0]} AS DOUBLE)) AS BIGINT)",  # null outside 64 bits, as int()
    "ceil": lambda a, p: f"TRY_CAST(ceil(CAST({a[0]} AS DOUBLE)) AS BIGINT)",
    "sqrt": lambda a, p: f"(CASE WHEN {a[0]} >= 0 THEN sqrt({a[0]}) END)",
    "log": lambda a, p: (f"(CASE WHEN {a[0]} > 0 THEN ln({a[0]}) END)" if len(a) == 1
                         else f"(CASE WHEN {a[0]} > 0 THEN ln({a[0]}) / ln({literal(float(a[1]))}) END)"),
    "exp": lambda a, p: f"exp(CAST({a[0]} AS DOUBLE))",
    "coalesce": _plain("coalesce"),
    "int": lambda a, p: f"TRY_CAST(trunc({_double(*a[0])}) AS BIGINT)",  # int(inf) is null
    "float": lambda a, p: _double(*a[0]),
    "str": _cast_text,
    # aggregates: `p` is the OVER clause of a window aggregate, or empty
    "count": lambda a, p: f"count({a[0]}){p}" if a else f"count(*){p}",
    "count_distinct": lambda a, p: f"count(DISTINCT {a[0]}){p}",
    "sum": lambda a, p: f"sum({a[0]}){p}",
    "mean": lambda a, p: f"avg(CAST({a[0]} AS DOUBLE)){p}",
    "median": lambda a, p: f"median(CAST({a[0]} AS DOUBLE)){p}",
    "min": lambda a, p: f"min({a[0]}){p}",
    "max": lambda a, p: f"max({a[0]}){p}",
    "std": lambda a, p: f"stddev_samp(CAST({a[0]} AS DOUBLE)){p}",
    "var": lambda a, p: f"var_samp(CAST({a[0]} AS DOUBLE)){p}",
    "std_pop": lambda a, p: _finite_only("stddev_pop", a[0], p),  # DuckDB gives 0 for one infinity; NaN is null
    "var_pop": lambda a, p: _finite_only("var_pop", a[0], p),
    "quantile": lambda a, p: f"quantile_cont(CAST({a[0]} AS DOUBLE), {float(a[1])}){p}",
    "first": lambda a, p: f"arg_min({a[0]}, {ROW}) FILTER (WHERE {a[0]} IS NOT NULL){p}",
    "last": lambda a, p: f"arg_max({a[0]}, {ROW}) FILTER (WHERE {a[0]} IS NOT NULL){p}",
    "corr": lambda a, p: _clamped_correlation(f"corr(CAST({a[0]} AS DOUBLE), CAST({a[1]} AS DOUBLE)){p}"),
    "skew": lambda a, p: _finite_only("skewness", a[0], p),
    "kurtosis": lambda a, p: _finite_only("kurtosis", a[0], p),
    # Not here, so a plan using them is Unsupported (docs/language.md): mode, and the
    # distribution functions and statistical tests, which only scipy computes.
    # windows
    "rank": _rank("rank"),
    "dense_rank": _rank("dense_rank"),
    "row_number": _row_number,
    "cumsum": lambda a, p: f"sum({a[0]}) {_over(p, ROW + ' ROWS UNBOUNDED PRECEDING')}",
    "lag": _shift("lag"),
    "lead": _shift("lead"),
    "pct_change": lambda a, p: (f"(CAST({a[0]} AS DOUBLE) - lag({a[0]}) {_over(p, ROW)}) / "
                                f"NULLIF(CAST(lag({a[0]}) {_over(p, ROW)} AS DOUBLE), 0)"),
}


# ---------------------------------------------------------------- operations


def _names(attrs) -> list[str]:
    return [name for name, _ in attrs["schema"].columns]


def _sequential(source: str, items, exprs: _Expr, columns: list[str]) -> str:
    """Items computed one after another, each able to use the ones before it: a SELECT (or
    ``source`` itself when no item changes anything)."""
    query, visible = None, list(columns)
    for item in items:
        if isinstance(item.expr, ast.Column) and item.expr.name == item.name and item.name in visible:
            continue  # `x = x` (select's plain columns) changes nothing
        value, inner = exprs(item.expr), source if query is None else f"({query})"
        if item.name in visible:
            query = f"SELECT * REPLACE ({value} AS {quote(item.name)}) FROM {inner}"
        else:
            query = f"SELECT *, {value} AS {quote(item.name)} FROM {inner}"
            visible.append(item.name)
    return query


def _select_op(plan, node, attrs, inputs, exprs, ordered):
    columns = _names(plan.node(attrs["inputs"][0]))
    query = _sequential(inputs[0], attrs["spec"].items, exprs, columns)
    return f"SELECT {ROW}, {', '.join(quote(i.name) for i in attrs['spec'].items)} FROM {inputs[0] if query is None else f'({query})'}"


def _derive_op(plan, node, attrs, inputs, exprs, ordered):
    columns = _names(plan.node(attrs["inputs"][0]))
    return _sequential(inputs[0], attrs["spec"].items, exprs, columns) or f"SELECT * FROM {inputs[0]}"


def _group_op(plan, node, attrs, inputs, exprs, ordered):
    keys = [quote(k.name) for k in attrs["spec"].keys]
    items = ", ".join(f"{exprs(i.expr)} AS {quote(i.name)}" for i in attrs["spec"].items)
    order = ", ".join(f"{k} ASC NULLS LAST" for k in keys)
    row = f"row_number() OVER (ORDER BY {order}) - 1 AS {ROW}" if ordered else _NO_ORDER
    return f"SELECT {', '.join(keys)}, {items}, {row} FROM {inputs[0]} GROUP BY {', '.join(keys)}"


def _aggregate_op(plan, node, attrs, inputs, exprs, ordered):
    items = ", ".join(f"{exprs(i.expr)} AS {quote(i.name)}" for i in attrs["spec"].items)
    aggregated = any(isinstance(e, ast.Call) and FUNCTIONS[e.name].kind == "aggregate"
                     for i in attrs["spec"].items for e in ast.walk(i.expr))
    # Without an aggregate call SQL would give one row per input row; the language gives one.
    return f"SELECT {items}, 0 AS {ROW} FROM {inputs[0] if aggregated else '(SELECT 1)'}"


def _sort_keys(plan, attrs) -> str:
    """A sort's ORDER BY terms; ties go by the input's order unless its keys cannot tie."""
    keys = [f"{quote(k.column.name)} {'DESC' if k.descending else 'ASC'} NULLS LAST" for k in attrs["spec"].keys]
    return ", ".join(keys + [ROW] if sort_ties(plan, attrs) else keys)


def _sort_op(plan, node, attrs, inputs, exprs, ordered):
    if not ordered:  # a sort nobody reads the order of changes nothing
        return f"SELECT * FROM {inputs[0]}"
    return f"SELECT * REPLACE (row_number() OVER (ORDER BY {_sort_keys(plan, attrs)}) - 1 AS {ROW}) FROM {inputs[0]}"


def _take_op(plan, node, attrs, inputs, exprs, ordered):
    count = attrs["spec"].count
    sort = top_of_sort(plan, attrs)
    if sort is None:
        return f"SELECT * FROM {inputs[0]} ORDER BY {ROW} LIMIT {count}"
    # A top-N over the sort's input: no window over all its rows, then the order of the few kept.
    keys = _sort_keys(plan, sort)
    top = f"SELECT * FROM {input_relation(plan, sort['inputs'][0])} ORDER BY {keys} LIMIT {count}"
    if not ordered:
        return top
    return f"SELECT * REPLACE (row_number() OVER (ORDER BY {keys}) - 1 AS {ROW}) FROM ({top})"


def _distinct_op(plan, node, attrs, inputs, exprs, ordered):
    columns = [quote(c.name) for c in attrs["spec"].columns] or [quote(c) for c in _names(plan.node(attrs["inputs"][0]))]
    row = f"min({ROW}) AS {ROW}" if ordered else _NO_ORDER
    return f"SELECT {', '.join(columns)}, {row} FROM {inputs[0]} GROUP BY {', '.join(columns)}"


def _join_op(plan, node, attrs, inputs, exprs, ordered):
    spec = attrs["spec"]
    left_columns = _names(plan.node(attrs["inputs"][0]))
    right_columns = _names(plan.node(attrs["inputs"][1]))
    right_keys = {k.right.name for k in spec.keys}
    taken, picked = set(left_columns), []
    for name in right_columns:
        if name not in right_keys:
            new = join_column_name(name, taken, spec.table.name)
            taken.add(new)
            picked.append(f"r.{quote(name)} AS {quote(new)}")
    on = " AND ".join(f"l.{quote(k.left.name)} = r.{quote(k.right.name)}" for k in spec.keys)
    kind = "LEFT JOIN" if spec.kind == "left" else "JOIN"
    columns = ", ".join([f"l.{quote(c)}" for c in left_columns] + picked)
    row = f"row_number() OVER (ORDER BY l.{ROW}, r.{ROW} NULLS LAST) - 1 AS {ROW}" if ordered else _NO_ORDER
    return f"SELECT {columns}, {row} FROM {inputs[0]} l {kind} {inputs[1]} r ON {on}"


def _cross_join_op(plan, node, attrs, inputs, exprs, ordered):
    spec = attrs["spec"]
    left_columns = _names(plan.node(attrs["inputs"][0]))
    taken, picked = set(left_columns), []
    for name in _names(plan.node(attrs["inputs"][1])):
        new = join_column_name(name, taken, spec.table.name)
        taken.add(new)
        picked.append(f"r.{quote(name)} AS {quote(new)}")
    columns = ", ".join([f"l.{quote(c)}" for c in left_columns] + picked)
    row = f"row_number() OVER (ORDER BY l.{ROW}, r.{ROW}) - 1 AS {ROW}" if ordered else _NO_ORDER
    return f"SELECT {columns}, {row} FROM {inputs[0]} l CROSS JOIN {inputs[1]} r"


def _split_op(plan, node, attrs, inputs, exprs, ordered):
    spec = attrs["spec"]
    column = quote(spec.column.name)
    parts = f"(SELECT *, string_split(CAST({column} AS VARCHAR), {literal(spec.separator)}) AS __parts FROM {inputs[0]})"
    # A null cell stays one row (part number 0), as pandas' explode keeps it.
    numbered = (f"(SELECT *, unnest(CASE WHEN {column} IS NULL THEN [CAST(0 AS BIGINT)] "
                f"ELSE range(1, array_length(__parts) + 1) END) AS __i FROM {parts})")
    return (f"SELECT * EXCLUDE (__parts, __i) REPLACE (CASE WHEN __i = 0 THEN NULL ELSE __parts[__i] END AS {column}, "
            f"{f'row_number() OVER (ORDER BY {ROW}, __i) - 1 AS {ROW}' if ordered else _NO_ORDER}) FROM {numbered}")


_OPS = {  # (plan, node, attrs, inputs, exprs, ordered: whether __rn must hold the order) -> SELECT
    "filter": lambda plan, node, attrs, inputs, exprs, ordered: f"SELECT * FROM {inputs[0]} WHERE {exprs(attrs['spec'].predicate)}",
    "select": _select_op,
    "derive": _derive_op,
    "drop": lambda plan, node, attrs, inputs, exprs, ordered: f"SELECT * EXCLUDE ({', '.join(quote(c.name) for c in attrs['spec'].columns)}) FROM {inputs[0]}",
    "rename": lambda plan, node, attrs, inputs, exprs, ordered: f"SELECT * RENAME ({', '.join(f'{quote(i.expr.name)} AS {quote(i.name)}' for i in attrs['spec'].items)}) FROM {inputs[0]}",
    "group": _group_op,
    "aggregate": _aggregate_op,
    "sort": _sort_op,
    "take": _take_op,
    "distinct": _distinct_op,
    "join": _join_op,
    "cross_join": _cross_join_op,
    "split": _split_op,
}


_NOT_QUERIES = ("answer", "describe")  # steps that are not tables of the data


def _with(plan: Plan, wanted, ordered) -> str:
    """The WITH clause of the needed nodes ``wanted(node)`` accepts (see ``with_clause``)."""
    return with_clause(plan, [n for n in plan.needed() if wanted(n)], ordered)


def with_clause(plan: Plan, nodes, ordered, select=None) -> str:
    """A WITH clause of one CTE for each of ``nodes`` (inputs first) that is a query: sources
    are read as themselves. ``ordered``: the nodes whose order is read; ``select(plan, node,
    ordered)`` writes a node's SELECT (``node_select``, or a cache of it)."""
    select = select or node_select
    ctes = [f"{relation(n)} AS ({select(plan, n, n in ordered)})" for n in nodes
            if plan.node(n)["op"] not in _NOT_QUERIES + ("source",)]
    return "WITH " + ",\n".join(ctes) + "\n" if ctes else ""


def plan_sql(plan: Plan, node: str, columns: list[str] | None = None) -> str:
    """A query giving the rows of ``node`` in order: ``columns``, or all but ``__rn``."""
    import networkx as nx

    wanted = nx.ancestors(plan.graph, node) | {node}
    select = ", ".join(quote(c) for c in columns) if columns else f"* EXCLUDE ({ROW})"
    return (_with(plan, wanted.__contains__, ordered_nodes(plan, [node]))
            + f"SELECT {select} FROM {input_relation(plan, node)} ORDER BY {ROW}")


def node_select(plan: Plan, node: str, ordered: bool = True) -> str:
    """One node's SELECT over its inputs' relations (``input_relation``), with ``__rn`` (null
    unless ``ordered``: see planner/sql_order.py); raises ``Unsupported`` for what the
    translation does not cover."""
    attrs = plan.node(node)
    if attrs["op"] == "source":
        return f"SELECT * FROM {quote(attrs['spec'])}"
    inputs = [input_relation(plan, i) for i in attrs["inputs"]]
    step = node_span(attrs)
    if attrs["op"] not in _OPS:
        raise Unsupported(attrs["op"], step)
    types = tuple(plan.node(i)["schema"] for i in attrs["inputs"])
    # Items of derive and select can read the columns earlier items made: type with those too.
    visible = types[0].with_columns({**dict(types[0].columns), **dict(attrs["schema"].columns)}.items())
    try:
        return _OPS[attrs["op"]](plan, node, attrs, inputs, _Expr(inputs, visible, types), ordered)
    except Unsupported as why:
        why.span = why.span or step
        raise


def answer_sql(plan: Plan, expr=None, select: str | None = None) -> str:
    """A query whose single row holds the answer (for scalar answers; ``expr``: one part of a
    record; ``select``: the SELECT to run over the steps instead, as planner/sql_answer.py's)."""
    select = select or f"SELECT {answer_expression(plan, plan.root, expr)} AS answer"
    return _with(plan, lambda n: n != plan.root, ordered_nodes(plan, [plan.root])) + select


def answer_expression(plan: Plan, node: str, expr=None, read=None) -> str:
    """Answer node ``node``'s expression (or ``expr``) over its inputs' relations, each value
    read by ``read`` as in ``_Expr`` (raises ``Unsupported``)."""
    attrs = plan.node(node)
    inputs = [input_relation(plan, i) for i in attrs["inputs"]]
    types = tuple(plan.node(i)["schema"] for i in attrs["inputs"])
    return _Expr(inputs, None, types, read)(attrs["spec"].expr if expr is None else expr)
