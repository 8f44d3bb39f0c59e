"""Static checks before anything runs: every table, binding, column and function resolved,
types inferred and matched, and each table's cardinality (one row or many) known."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from csvdsl import ast
from csvdsl.errors import CheckError, DslError, did_you_mean, name_hint, quote_name
from csvdsl.format import format_expr
from csvdsl.signatures import (
    BOOL,
    DATE,
    DATETIME,
    FLOAT,
    INT,
    NULL,
    NUMBERS,
    SIGNATURES,
    STRING,
    SYNONYMS,
    TEMPORAL,
    unify_types,
)

ANSWER_KINDS = {INT: "number", FLOAT: "number", STRING: "string", BOOL: "bool", DATE: "date", DATETIME: "date", NULL: "null"}


@dataclass(frozen=True)
class TableType:
    """The static type of a table: its columns, whether it has at most one row, whether it is sorted."""

    columns: tuple[tuple[str, str], ...]
    single: bool = False
    ordered: bool = False

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def type_of(self, name: str) -> str | None:
        return dict(self.columns).get(name)

    def with_columns(self, columns) -> "TableType":
        return replace(self, columns=tuple(columns))


@dataclass(frozen=True)
class AnswerType:
    """What an ``answer`` gives: a kind (number, string, bool, date, list, table, null), the
    element's type for scalars and lists, and whether a list or table is in a chosen order."""

    kind: str
    dtype: str | None = None
    ordered: bool = False
    table: TableType | None = None


# What the exploration statements show.
DESCRIBE_TYPE = TableType(tuple((name, STRING) for name in ("column", "type")) + (("nulls", INT), ("distinct", INT))
                          + tuple((name, STRING) for name in ("min", "max", "top")))
TABLES_TYPE = TableType((("table", STRING), ("rows", INT), ("columns", INT)))


@dataclass
class CheckedProgram:
    """A program with the static type of every pipeline step and of its answer."""

    program: ast.Program
    tables: dict[str, TableType]
    steps: dict[tuple[int, int], TableType] = field(default_factory=dict)  # (statement, step) -> type
    statement_types: dict[int, TableType | AnswerType] = field(default_factory=dict)
    answer: AnswerType | None = None


def check(program: ast.Program, tables: dict[str, TableType], source: str | None = None) -> CheckedProgram:
    """Check ``program`` against the schemas of ``tables``; raises ``CheckError``."""
    checker = _Checker(program, dict(tables))
    try:
        return checker.run()
    except DslError as error:
        raise error.with_source(source) if source is not None else error


class _Checker:
    def __init__(self, program: ast.Program, tables: dict[str, TableType]):
        self.program = program
        self.scope = dict(tables)  # tables, then bindings as they are defined
        self.result = CheckedProgram(program, dict(tables))

    def run(self) -> CheckedProgram:
        answers = 0
        for index, statement in enumerate(self.program.statements):
            if isinstance(statement, ast.Describe):
                self.table(statement.table)
                self.result.statement_types[index] = DESCRIBE_TYPE
                continue
            if isinstance(statement, ast.ListTables):
                self.result.statement_types[index] = TABLES_TYPE
                continue
            if isinstance(statement, ast.Answer):
                answers += 1
                if answers > 1:
                    raise CheckError("multiple-answers", "a program has one `answer`", span=statement.span,
                                     hint="keep the last `answer`, or bind intermediate results to names")
                kind = self.answer_type(statement.expr)
                self.result.answer = kind
                self.result.statement_types[index] = kind
                continue
            table = self.pipeline(statement.pipeline, index)
            self.result.statement_types[index] = table
            if isinstance(statement, ast.Binding):
                self.scope[statement.name] = table
        return self.result

    # ---------------------------------------------------------------- pipelines

    def table(self, ref: ast.TableRef) -> TableType:
        if ref.name not in self.scope:
            raise CheckError("unknown-table", f"no table or binding named `{ref.name}`", span=ref.span,
                             hint=name_hint(ref.name, self.scope, "tables and bindings"))
        return self.scope[ref.name]

    def pipeline(self, pipeline: ast.Pipeline, index: int) -> TableType:
        table = self.table(pipeline.source)
        self.result.steps[(index, 0)] = table
        for step, transform in enumerate(pipeline.transforms, start=1):
            table = _TRANSFORM_RULES[type(transform)](self, table, transform)
            self.result.steps[(index, step)] = table
        return table

    def column(self, table: TableType, column: ast.Column) -> str:
        kind = table.type_of(column.name)
        if kind is None:
            hint = name_hint(column.name, table.names)
            if did_you_mean(column.name, table.names) is None:
                hint += f'; if you meant the text, quote it: "{column.name}"'
            raise CheckError("unknown-column", f"no column named `{column.name}`", span=column.span, hint=hint)
        return kind

    def filter(self, table, t: ast.Filter):
        self.expect_bool(t.predicate, self.expr(t.predicate, _Context(table)), "filter")
        return table

    def _sequential(self, table, items) -> dict:
        """The table's columns and each item's type: later items may use earlier ones."""
        columns = dict(table.columns)
        for item in items:
            columns[item.name] = self.expr(item.expr, _Context(table.with_columns(columns.items()), windows=True))
        return columns

    def select(self, table, t: ast.Select):
        columns = self._sequential(table, t.items)
        self.unique([i.name for i in t.items], t.items, "select")
        return table.with_columns([(i.name, columns[i.name]) for i in t.items])

    def derive(self, table, t: ast.Derive):
        return table.with_columns(self._sequential(table, t.items).items())

    def drop(self, table, t: ast.Drop):
        gone = {self.column(table, c) and c.name for c in t.columns}
        kept = [(n, k) for n, k in table.columns if n not in gone]
        if not kept:
            raise CheckError("drop-all", "`drop` would remove every column", span=t.span,
                             hint="keep at least one column, or use `select` to choose columns")
        return table.with_columns(kept)

    def rename(self, table, t: ast.Rename):
        mapping = {}
        for item in t.items:
            self.column(table, item.expr)
            if item.expr.name in mapping:
                raise CheckError("duplicate-column", f"`{item.expr.name}` is renamed twice", span=item.span,
                                 hint="rename a column once; copy it with `derive new = old` to keep two")
            mapping[item.expr.name] = item.name
        columns = [(mapping.get(n, n), k) for n, k in table.columns]
        names = [n for n, _ in columns]
        for item in t.items:
            if names.count(item.name) > 1:
                raise CheckError("duplicate-column", f"after this rename two columns would be named `{item.name}`",
                                 span=item.span, hint=f"drop or rename the existing `{item.name}` first, or pick another name")
        return table.with_columns(columns)

    def group(self, table, t: ast.Group):
        keys = [(k.name, self.column(table, k)) for k in t.keys]
        self.unique([k for k, _ in keys], t.keys, "group")
        columns = keys + self.assignments(table, t.items, _Context(table, aggregates=True))
        self.unique([n for n, _ in columns], t.keys + t.items, "group")
        return TableType(tuple(columns), single=table.single, ordered=False)

    def aggregate(self, table, t: ast.Aggregate):
        columns = self.assignments(table, t.items, _Context(table, aggregates=True))
        return TableType(tuple(columns), single=True, ordered=False)

    def sort(self, table, t: ast.Sort):
        for key in t.keys:
            self.column(table, key.column)
        return replace(table, ordered=True)

    def take(self, table, t: ast.Take):
        return replace(table, single=table.single or t.count <= 1)

    def distinct(self, table, t: ast.Distinct):
        if not t.columns:
            return table
        columns = [(c.name, self.column(table, c)) for c in t.columns]
        self.unique([n for n, _ in columns], t.columns, "distinct")
        return table.with_columns(columns)

    def join(self, table, t: ast.Join):
        right = self.table(t.table)
        right_keys = set()
        for key in t.keys:
            left_type, right_type = self.column(table, key.left), self.column(right, key.right)
            if not _comparable(left_type, right_type):
                raise CheckError("type-mismatch", f"cannot join `{key.left.name}` ({left_type}) with "
                                 f"`{key.right.name}` ({right_type})", span=key.span,
                                 hint="join keys must have comparable types")
            right_keys.add(key.right.name)
        names = set(table.names)
        columns = list(table.columns)
        for name, kind in right.columns:
            if name in right_keys:
                continue
            columns.append((join_column_name(name, names, t.table.name), kind))
            names.add(columns[-1][0])
        return TableType(tuple(columns), single=table.single and right.single, ordered=table.ordered)

    def assignments(self, table, items, context) -> list[tuple[str, str]]:
        columns = [(item.name, self.expr(item.expr, context)) for item in items]
        self.unique([n for n, _ in columns], items, "these items")
        return columns

    def unique(self, names, nodes, where):
        seen = set()
        for name, node in zip(names, nodes):
            if name in seen:
                raise CheckError("duplicate-column", f"column `{name}` appears twice in {where}",
                                 span=getattr(node, "span", None), hint="give each column its own name")
            seen.add(name)

    # ---------------------------------------------------------------- answers

    def answer_type(self, expr) -> AnswerType:
        if isinstance(expr, ast.TableRef):
            table = self.table(expr)
            return AnswerType("table", ordered=table.ordered, table=table)
        if isinstance(expr, ast.Ref):
            table = self.table(ast.TableRef(expr.table, span=expr.span))
            kind = self.column(table, ast.Column(expr.column, span=expr.span))
            if not table.single:
                return AnswerType("list", kind, ordered=table.ordered)
        kind = self.expr(expr, _Context(None))
        return AnswerType(ANSWER_KINDS[kind], kind)

    # ---------------------------------------------------------------- expressions

    def expr(self, expr, context: "_Context") -> str:
        return _EXPR_RULES[type(expr)](self, expr, context)

    def expect_bool(self, expr, kind, where):
        if kind not in (BOOL, NULL):
            raise CheckError("not-boolean", f"{where} needs a true/false condition, but `{format_expr(expr)}` is {_a(kind)}",
                             span=expr.span, hint="compare it, e.g. `x > 0`, `x == \"a\"` or `x is not null`")

    def literal(self, expr: ast.Literal, context):
        value = expr.value
        if value is None:
            return NULL
        return {bool: BOOL, int: INT, float: FLOAT, str: STRING}[type(value)]

    def column_expr(self, expr: ast.Column, context):
        if context.table is None:
            raise CheckError("no-table", f"`{expr.name}` is not a table", span=expr.span)
        if context.aggregates and not context.inside_aggregate and not context.typing_only:
            kind = self.column(context.table, expr)
            raise CheckError("not-aggregated", f"`{expr.name}` must be inside an aggregate function", span=expr.span,
                             hint=f"aggregate it, e.g. `{quote_name(expr.name)} = {'mean' if kind in NUMBERS else 'first'}({quote_name(expr.name)})`, or add it to the group keys")
        return self.column(context.table, expr)

    def ref(self, expr: ast.Ref, context, as_list=False):
        if expr.table not in self.scope and context.table is not None and context.table.type_of(expr.table):
            raise CheckError("unknown-table", f"`{expr.table}` is a column, not a table", span=expr.span,
                             hint=f"`t.col` reads another table's column; to apply a function write `{expr.column}({quote_name(expr.table)})`")
        table = self.table(ast.TableRef(expr.table, span=expr.span))
        kind = self.column(table, ast.Column(expr.column, span=expr.span))
        if not table.single and not as_list:
            where = "answer the list by itself (`answer t.col`)" if context.table is None else f"test membership with `in {expr.table}.{expr.column}`"
            raise CheckError("list-as-scalar", f"`{expr.table}.{expr.column}` is a list: `{expr.table}` can have many rows",
                             span=expr.span, hint=f"make `{expr.table}` one row (`aggregate ...` or `take 1`), or {where}")
        return kind

    def table_expr(self, expr: ast.TableRef, context):
        raise CheckError("table-as-value", f"`{expr.name}` is a whole table, not a value", span=expr.span,
                         hint=f"use one of its columns, e.g. `{expr.name}.<column>`, or answer the table by itself")

    def call(self, expr: ast.Call, context):
        function = SIGNATURES.get(expr.name)
        if function is None:
            hint = name_hint(expr.name, sorted(SIGNATURES), "functions")
            if expr.name in SYNONYMS:
                hint = f"use `{SYNONYMS[expr.name]}`"
            raise CheckError("unknown-function", f"no function named `{expr.name}`", span=expr.span, hint=hint)
        if function.kind == "aggregate" and not context.typing_only:
            if not context.aggregates:
                raise CheckError("aggregate-outside", f"`{expr.name}` is an aggregate; it can only be used in `aggregate` items",
                                 span=expr.span, hint=f"`group KEYS aggregate x = {expr.name}(...)`, or `aggregate x = {expr.name}(...)` for the whole table")
            if context.inside_aggregate:
                raise CheckError("nested-aggregate", f"`{expr.name}` is inside another aggregate", span=expr.span,
                                 hint="aggregate in two steps: bind the first result, then aggregate it")
        if function.kind == "window" and (not context.windows or context.inside_aggregate) and not context.typing_only:
            raise CheckError("window-outside", f"`{expr.name}` is a window function; use it in `derive` or `select`",
                             span=expr.span, hint=f"`derive r = {expr.name}(...)`, then filter on `r`")
        if expr.over and function.kind != "window":
            raise CheckError("over-not-window", f"`over` partitions window functions, and `{expr.name}` is not one",
                             span=expr.span, hint="window functions: " + ", ".join(n for n, f in SIGNATURES.items() if f.kind == "window"))
        for column in expr.over:
            self.column(context.table, column)
        self.arity(function, expr)
        inner = replace(context, inside_aggregate=context.inside_aggregate or function.kind == "aggregate")
        types = []
        for position, arg in enumerate(expr.args):
            if isinstance(arg, ast.Ordered):
                if not function.ordered:
                    raise CheckError("bad-argument", f"`{expr.name}` does not take `desc`", span=arg.span,
                                     hint="`desc` orders the argument of rank, dense_rank and row_number")
                arg = arg.expr
            if position in function.constant and not isinstance(arg, ast.Literal):
                example = _CONSTANT_EXAMPLES.get((expr.name, position), '"text"' if function.accepts[position] == frozenset({STRING, NULL}) else "2")
                raise CheckError("not-constant", f"argument `{function.params[position]}` of `{expr.name}` must be a constant",
                                 span=arg.span, hint=f"write a literal value there, e.g. {example}")
            kind = self.expr(arg, inner)
            accepted = function.accepts[min(position, len(function.accepts) - 1)]
            if accepted is not None and kind not in accepted:
                raise CheckError("type-mismatch", f"`{expr.name}` needs {_kinds(accepted)} for `{function.params[min(position, len(function.params) - 1)]}`, "
                                 f"but `{format_expr(arg)}` is {_a(kind)}", span=arg.span, hint=_cast_hint(kind, accepted))
            types.append(kind)
        if function.check_constants is not None:
            values = [arg.value if isinstance(arg, ast.Literal) else None for arg in expr.args]
            problem = function.check_constants(values)
            if problem:
                position, message = problem
                raise CheckError("bad-argument", message, span=expr.args[position].span,
                                 hint="e.g. " + _CONSTANT_EXAMPLES.get((expr.name, position), f"`{expr.name}(...)`"))
        result = function.result(types)
        if result is None:
            raise CheckError("type-mismatch", f"`{expr.name}` mixes {', '.join(t for t in dict.fromkeys(types) if t != NULL)}",
                             span=expr.span, hint=f"give every argument of `{expr.name}` the same type, e.g. `{expr.name}(x, 0)` for a number")
        return result

    def arity(self, function, expr):
        count = len(expr.args)
        most = None if function.variadic else len(function.params)
        if count < function.min_args or (most is not None and count > most):
            wanted = f"{function.min_args} or more" if most is None else (
                str(most) if function.min_args == most else f"{function.min_args} to {most}")
            raise CheckError("arity", f"`{expr.name}` takes {wanted} argument{'s' if wanted != '1' else ''}, not {count}",
                             span=expr.span, hint=f"{expr.name}({', '.join(function.params)}{', ...' if function.variadic else ''})")

    def unary_minus(self, expr: ast.Neg, context):
        kind = self.expr(expr.operand, context)
        self.expect(expr.operand, kind, NUMBERS, "`-`")
        return kind

    def not_(self, expr: ast.Not, context):
        self.expect_bool(expr.operand, self.expr(expr.operand, context), "`not`")
        return BOOL

    def binary(self, expr: ast.Binary, context):
        left, right = self.expr(expr.left, context), self.expr(expr.right, context)
        if expr.op in ("+", "-", "*", "/", "%"):
            self.expect(expr.left, left, NUMBERS, f"`{expr.op}`")
            self.expect(expr.right, right, NUMBERS, f"`{expr.op}`")
            return FLOAT if expr.op == "/" or FLOAT in (left, right) else INT
        self.comparable(expr.left, left, expr.right, right, expr)
        return BOOL

    def comparable(self, left_expr, left, right_expr, right, where):
        if _comparable(left, right):
            return
        for temporal, other, other_expr in ((left, right, right_expr), (right, left, left_expr)):
            if temporal in (DATE, DATETIME) and other == STRING and isinstance(other_expr, ast.Literal):
                if _parses_as_date(other_expr.value):
                    return
                raise CheckError("bad-date", f"`{format_expr(other_expr)}` is not a date", span=other_expr.span,
                                 hint='write dates as "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS"')
        raise CheckError("type-mismatch", f"cannot compare `{format_expr(left_expr)}` ({left}) with `{format_expr(right_expr)}` ({right})",
                         span=where.span, hint=_compare_hint(left, right))

    def expect(self, expr, kind, accepted, what):
        if kind not in accepted:
            raise CheckError("type-mismatch", f"{what} needs {_kinds(accepted)}, but `{format_expr(expr)}` is {_a(kind)}",
                             span=expr.span, hint=_cast_hint(kind, accepted))

    def logical(self, expr: ast.Logical, context):
        for operand in expr.operands:
            kind = self.expr(operand, context)
            if kind not in (BOOL, NULL) and expr.op == "or" and isinstance(operand, ast.Literal):
                # `city == "London" or "Paris"`: the second value lost its comparison
                compared = next((o for o in expr.operands if isinstance(o, ast.Binary) and o.op == "=="
                                 and isinstance(o.left, ast.Column) and isinstance(o.right, ast.Literal)), None)
                if compared is not None:
                    values = ", ".join(format_expr(v) for v in (compared.right, operand))
                    raise CheckError("not-boolean", f"`or` needs a true/false condition, but `{format_expr(operand)}` is {_a(kind)}",
                                     span=operand.span, hint=f"to test several values write `{format_expr(compared.left)} in [{values}]`")
            self.expect_bool(operand, kind, f"`{expr.op}`")
        return BOOL

    def in_list(self, expr: ast.InList, context):
        kind = self.expr(expr.operand, context)
        for item in expr.items:
            if not isinstance(item, ast.Literal):
                raise CheckError("not-constant", "the items of `in [...]` must be constants", span=item.span,
                                 hint="write literal values, e.g. `origin in [\"JFK\", \"LGA\"]`")
            self.comparable(expr.operand, kind, item, self.literal(item, context), item)
        return BOOL

    def in_ref(self, expr: ast.InRef, context):
        kind = self.expr(expr.operand, context)
        other = self.ref(expr.ref, context, as_list=True)
        self.comparable(expr.operand, kind, expr.ref, other, expr)
        return BOOL

    def between(self, expr: ast.Between, context):
        kind = self.expr(expr.operand, context)
        for bound in (expr.low, expr.high):
            self.comparable(expr.operand, kind, bound, self.expr(bound, context), bound)
        return BOOL

    def is_null(self, expr: ast.IsNull, context):
        self.expr(expr.operand, context)
        return BOOL

    def case(self, expr: ast.Case, context):
        kinds = []
        for condition, value in expr.whens:
            self.expect_bool(condition, self.expr(condition, context), "`when`")
            kinds.append((value, self.expr(value, context)))
        if expr.default is not None:
            kinds.append((expr.default, self.expr(expr.default, context)))
        result = NULL
        for value, kind in kinds:
            unified = unify_types([result, kind])
            if unified is None:
                raise CheckError("type-mismatch", f"`case` mixes {result} and {kind} (`{format_expr(value)}`)",
                                 span=value.span, hint="every branch of a `case` must give the same type")
            result = unified
        return result

    def ordered(self, expr: ast.Ordered, context):
        raise CheckError("bad-argument", "`desc` only orders the argument of a window function", span=expr.span,
                         hint="e.g. `rank(n desc)`")


@dataclass(frozen=True)
class _Context:
    table: TableType | None
    aggregates: bool = False
    inside_aggregate: bool = False
    windows: bool = False
    inputs: tuple = ()  # plan-level: the types of a node's inputs, for InputRefs
    typing_only: bool = False  # the expression was checked already: only its type is wanted


def expression_type(expr, table: TableType | None, inputs: tuple = ()) -> str:
    """The static type of a (checked) expression over ``table``; plan-level references read
    ``inputs``, the types of a node's inputs."""
    checker = _Checker(ast.Program(), {})
    return checker.expr(expr, _Context(table, windows=True, inputs=tuple(inputs), typing_only=True))


_TRANSFORM_RULES = {
    ast.Filter: _Checker.filter,
    ast.Select: _Checker.select,
    ast.Derive: _Checker.derive,
    ast.Drop: _Checker.drop,
    ast.Rename: _Checker.rename,
    ast.Group: _Checker.group,
    ast.Aggregate: _Checker.aggregate,
    ast.Sort: _Checker.sort,
    ast.Take: _Checker.take,
    ast.Distinct: _Checker.distinct,
    ast.Join: _Checker.join,
}

_EXPR_RULES = {
    ast.Literal: _Checker.literal,
    ast.Column: _Checker.column_expr,
    ast.Ref: _Checker.ref,
    ast.InputRef: lambda checker, expr, context: context.inputs[expr.index].type_of(expr.column),
    ast.TableRef: _Checker.table_expr,
    ast.Call: _Checker.call,
    ast.Neg: _Checker.unary_minus,
    ast.Not: _Checker.not_,
    ast.Binary: _Checker.binary,
    ast.Logical: _Checker.logical,
    ast.InList: _Checker.in_list,
    ast.InRef: _Checker.in_ref,
    ast.Between: _Checker.between,
    ast.IsNull: _Checker.is_null,
    ast.Case: _Checker.case,
    ast.Ordered: _Checker.ordered,
}

_CONSTANT_EXAMPLES = {("quantile", 1): "`quantile(x, 0.9)`", ("round", 1): "`round(x, 2)`", ("log", 1): "`log(x, 10)`",
                      ("lag", 1): "`lag(x, 1)`", ("lead", 1): "`lead(x, 1)`", ("substr", 1): "`substr(s, 1, 3)`",
                      ("substr", 2): "`substr(s, 1, 3)`", ("date", 1): '`date(s, "%d/%m/%Y")`', ("datetime", 1): '`datetime(s, "%d/%m/%Y %H:%M")`'}

_FAMILIES = (frozenset({INT, FLOAT, BOOL}), frozenset({STRING}), frozenset({DATE, DATETIME}))


def _comparable(a: str, b: str) -> bool:
    return NULL in (a, b) or any(a in family and b in family for family in _FAMILIES)


def join_column_name(name: str, taken: set[str], table: str) -> str:
    """A right-side column's name in a join result: suffixed with the table when it clashes."""
    if name not in taken:
        return name
    candidate = f"{name}_{table}"
    n = 2
    while candidate in taken:
        candidate, n = f"{name}_{table}{n}", n + 1
    return candidate


_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?\Z")


def _parses_as_date(text: str) -> bool:
    """True for an ISO 8601 date or time that exists (not "June", not 2013-02-30)."""
    import pandas as pd

    if not _ISO_TIME.match(text.strip()):
        return False
    try:
        pd.Timestamp(text)
        return True
    except (ValueError, TypeError):
        return False


def _a(kind: str) -> str:
    return {INT: "an int", NULL: "null"}.get(kind, f"a {kind}")


def _kinds(accepted) -> str:
    names = sorted(k for k in accepted if k != NULL)
    return " or ".join(names) if len(names) <= 2 else ", ".join(names[:-1]) + " or " + names[-1]


def _cast_hint(kind, accepted) -> str:
    if kind == STRING and accepted & {INT, FLOAT}:
        return "convert it with `float(x)` or `int(x)`"
    if kind in (INT, FLOAT) and STRING in accepted:
        return "convert it with `str(x)`"
    if kind == STRING and accepted & TEMPORAL:
        return "parse it with `date(x)` or `datetime(x)`"
    if kind in (DATE, DATETIME) and accepted & {INT, FLOAT}:
        return "for the days between two dates use `date_diff(end, start)`; for parts, `year(x)`, `month(x)`, ..."
    if kind == BOOL and accepted & {INT, FLOAT}:
        return "turn it into a number with `int(x)` or `case when x then 1 else 0 end`"
    return f"give it {_kinds(accepted)}"


def _compare_hint(left, right) -> str:
    kinds = {left, right}
    if STRING in kinds and kinds & {INT, FLOAT}:
        return "quote the number as a string, or convert the column with `float(x)`/`str(x)`"
    if kinds & {DATE, DATETIME}:
        return 'compare dates with dates: `date("2013-06-01")`'
    return "compare values of the same type"
