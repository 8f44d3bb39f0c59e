"""Typing expressions: every column and function resolved, argument types and constants
checked, and where aggregates and window functions may appear (the checker's expression half)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from csvdsl import ast
from csvdsl.errors import CheckError, did_you_mean, name_hint, quote_name
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
    VARIABLE,
    unify_types,
)

if TYPE_CHECKING:
    from csvdsl.check import TableType


class ExpressionRules:
    """The typing rules of expressions; the checker that uses them keeps ``scope``, the tables
    and bindings by name."""

    scope: dict  # name -> TableType

    def table(self, ref: ast.TableRef) -> TableType:
        if ref.name not in self.scope:
            raise CheckError("unknown-table", f"no table or binding named `{ref.name}`", span=ref.span,
                             hint=name_hint(ref.name, self.scope, "tables and bindings"))
        return self.scope[ref.name]

    def column(self, table: TableType, column: ast.Column) -> str:
        kind = table.type_of(column.name)
        if kind is None:
            hint = name_hint(column.name, table.names)
            if did_you_mean(column.name, table.names) is None:
                hint += f'; if you meant the text, quote it: "{column.name}"'
            raise CheckError("unknown-column", f"no column named `{column.name}`", span=column.span, hint=hint)
        return kind

    # ---------------------------------------------------------------- expressions

    def expr(self, expr, context: "Context") -> str:
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
        if not context.typing_only:
            self.placement(function, expr, context)
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
            values = [arg.value if isinstance(arg, ast.Literal) else VARIABLE for arg in expr.args]
            problem = function.check_constants(values)
            if problem:
                position, message, *named = problem  # (position, message[, code, hint])
                code, hint = named if named else ("bad-argument", "e.g. " + _CONSTANT_EXAMPLES.get((expr.name, position), f"`{expr.name}(...)`"))
                raise CheckError(code, message, span=expr.args[position].span, hint=hint)
        result = function.result(types)
        if result is None:
            raise CheckError("type-mismatch", f"`{expr.name}` mixes {', '.join(t for t in dict.fromkeys(types) if t != NULL)}",
                             span=expr.span, hint=f"give every argument of `{expr.name}` the same type, e.g. `{expr.name}(x, 0)` for a number")
        return result

    def placement(self, function, expr: ast.Call, context):
        """Aggregates go in `aggregate` items, or per row with `over`; window functions and
        window aggregates in `derive` or `select`; nothing aggregates inside an aggregate."""
        windowed = function.kind == "window" or expr.window
        if function.kind == "aggregate" and context.inside_aggregate:
            raise CheckError("nested-aggregate", f"`{expr.name}` is inside another aggregate", span=expr.span,
                             hint="aggregate in two steps: bind the first result, then aggregate it")
        if function.kind == "aggregate" and not expr.window and not context.aggregates:
            where = "filter" if not context.windows else "derive"
            raise CheckError("aggregate-outside", f"`{expr.name}` is an aggregate; it can only be used in `aggregate` items, or per row with `over`",
                             span=expr.span, hint=f"per row: `derive m = {expr.name}(...) over ()` (over the whole table) or `over KEY` (within each group)"
                             + (", then filter on `m`" if where == "filter" else "")
                             + f"; one row: `aggregate x = {expr.name}(...)`, or `group KEYS aggregate x = {expr.name}(...)`")
        if windowed and (not context.windows or context.inside_aggregate):
            what = "window function" if function.kind == "window" else "window aggregate"
            raise CheckError("window-outside", f"`{format_expr(expr)}` is a {what}; use it in `derive` or `select`",
                             span=expr.span, hint=f"`derive r = {format_expr(expr)}`, then use `r`")
        if expr.window and function.kind == "scalar":
            raise CheckError("over-not-window", f"`over` partitions window functions and aggregates, and `{expr.name}` is neither",
                             span=expr.span, hint="window functions: " + ", ".join(n for n, f in SIGNATURES.items() if f.kind == "window")
                             + "; any aggregate takes `over` too, e.g. `mean(x) over g`")

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
        if comparable(left, right):
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
        if isinstance(expr.ref, ast.InputRef):  # a plan's, typed after the program was checked
            return BOOL
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
class Context:
    """Where an expression stands: the table it reads, and what may appear there."""

    table: TableType | None
    aggregates: bool = False
    inside_aggregate: bool = False
    windows: bool = False
    inputs: tuple = ()  # plan-level: the types of a node's inputs, for InputRefs
    typing_only: bool = False  # the expression was checked already: only its type is wanted


_EXPR_RULES = {
    ast.Literal: ExpressionRules.literal,
    ast.Column: ExpressionRules.column_expr,
    ast.Ref: ExpressionRules.ref,
    ast.InputRef: lambda checker, expr, context: context.inputs[expr.index].type_of(expr.column),
    ast.TableRef: ExpressionRules.table_expr,
    ast.Call: ExpressionRules.call,
    ast.Neg: ExpressionRules.unary_minus,
    ast.Not: ExpressionRules.not_,
    ast.Binary: ExpressionRules.binary,
    ast.Logical: ExpressionRules.logical,
    ast.InList: ExpressionRules.in_list,
    ast.InRef: ExpressionRules.in_ref,
    ast.Between: ExpressionRules.between,
    ast.IsNull: ExpressionRules.is_null,
    ast.Case: ExpressionRules.case,
    ast.Ordered: ExpressionRules.ordered,
}


_CONSTANT_EXAMPLES = {("quantile", 1): "`quantile(x, 0.9)`", ("round", 1): "`round(x, 2)`", ("log", 1): "`log(x, 10)`",
                      ("lag", 1): "`lag(x, 1)`", ("lead", 1): "`lead(x, 1)`", ("substr", 1): "`substr(s, 1, 3)`",
                      ("substr", 2): "`substr(s, 1, 3)`", ("date", 1): '`date(s, "%d/%m/%Y")`', ("datetime", 1): '`datetime(s, "%d/%m/%Y %H:%M")`',
                      ("split_part", 1): '`split_part(s, ",", -1)`', ("split_part", 2): '`split_part(s, ",", -1)` (the last part)',
                      ("extract", 1): r'`extract(s, "\((\d+) mi\)", 1)`', ("extract", 2): r'`extract(s, "(\d+)", 1)`',
                      ("matches", 1): r'`matches(s, "^[A-Z]{3}$")`', ("regex_replace", 1): r'`regex_replace(s, "[^0-9]", "")`',
                      ("regex_replace", 2): r'`regex_replace(s, "(\w+) (\w+)", "\\2 \\1")`', ("position", 1): '`position(s, "(")`'}

_FAMILIES = (frozenset({INT, FLOAT, BOOL}), frozenset({STRING}), frozenset({DATE, DATETIME}))


def comparable(a: str, b: str) -> bool:
    return NULL in (a, b) or any(a in family and b in family for family in _FAMILIES)


def _parses_as_date(text: str) -> bool:
    """True for an ISO 8601 date or time that exists (not "June", not 2013-02-30), as `datetime`
    reads it on both engines (csvdsl/tables/shapes.py)."""
    import pandas as pd

    from csvdsl.tables.shapes import time_of

    return not pd.isna(time_of(text))


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
