"""AST to canonical source text; ``parse(format_program(p)) == p`` for every program."""

from __future__ import annotations

import math
import re

from csvdsl import ast
from csvdsl.errors import quote_name

LINE_WIDTH = 88

# Binding strength, loosest first; a child looser than its slot is parenthesized.
_OR, _AND, _NOT, _PREDICATE, _SUM, _PRODUCT, _UNARY, _ATOM = range(1, 9)
_ARITH_LEVEL = {"+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT, "%": _PRODUCT}


def format_program(program: ast.Program) -> str:
    """The whole program, one statement per line, comments kept above their statements."""
    lines = []
    for statement in program.statements:
        lines.extend(f"# {c}".rstrip() for c in statement.comments)
        lines.append(format_statement(statement))
    lines.extend(f"# {c}".rstrip() for c in program.trailing_comments)
    return "\n".join(lines) + "\n" if lines else ""


def format_statement(statement) -> str:
    return _STATEMENTS[type(statement)](statement)


def format_pipeline(pipeline: ast.Pipeline) -> str:
    head = quote_name(pipeline.source.name)
    steps = [format_transform(t) for t in pipeline.transforms]
    one_line = " | ".join([head, *steps])
    if len(steps) <= 2 and len(one_line) <= LINE_WIDTH:
        return one_line
    return "\n".join([head, *(f"  | {s}" for s in steps)])


_STATEMENTS = {
    ast.Binding: lambda s: f"{quote_name(s.name)} = {format_pipeline(s.pipeline)}",
    ast.Show: lambda s: format_pipeline(s.pipeline),
    ast.Answer: lambda s: f"answer {format_expr(s.expr)}",
    ast.Describe: lambda s: f"describe {quote_name(s.table.name)}",
    ast.ListTables: lambda s: "tables",
}


def _names(columns) -> str:
    return ", ".join(quote_name(c.name) for c in columns)


def _assigns(items) -> str:
    return ", ".join(f"{quote_name(a.name)} = {format_expr(a.expr)}" for a in items)


def select_item(item: ast.Assign) -> str:
    if isinstance(item.expr, ast.Column) and item.expr.name == item.name:
        return quote_name(item.name)
    return f"{quote_name(item.name)} = {format_expr(item.expr)}"


def _join(t: ast.Join) -> str:
    kind = "left " if t.kind == "left" else ""
    keys = ", ".join(
        quote_name(k.left.name) if k.left.name == k.right.name else f"{quote_name(k.left.name)} == {quote_name(k.right.name)}"
        for k in t.keys
    )
    return f"join {kind}{quote_name(t.table.name)} on {keys}"


_TRANSFORMS = {
    ast.Filter: lambda t: f"filter {format_expr(t.predicate)}",
    ast.Select: lambda t: "select " + ", ".join(select_item(i) for i in t.items),
    ast.Derive: lambda t: f"derive {_assigns(t.items)}",
    ast.Drop: lambda t: f"drop {_names(t.columns)}",
    ast.Rename: lambda t: "rename " + ", ".join(f"{quote_name(a.name)} = {quote_name(a.expr.name)}" for a in t.items),
    ast.Group: lambda t: f"group {_names(t.keys)} aggregate {_assigns(t.items)}",
    ast.Aggregate: lambda t: f"aggregate {_assigns(t.items)}",
    ast.Sort: lambda t: "sort " + ", ".join(quote_name(k.column.name) + (" desc" if k.descending else "") for k in t.keys),
    ast.Take: lambda t: f"take {t.count}",
    ast.Distinct: lambda t: "distinct" + (f" {_names(t.columns)}" if t.columns else ""),
    ast.Join: _join,
    ast.CrossJoin: lambda t: f"join cross {quote_name(t.table.name)}",
    ast.Split: lambda t: f"split {quote_name(t.column.name)} on {_literal(ast.Literal(t.separator))}",
}


def format_transform(transform) -> str:
    return _TRANSFORMS[type(transform)](transform)


# ---------------------------------------------------------------- expressions


def format_expr(expr) -> str:
    """An expression in canonical form, with the fewest parentheses that keep its meaning."""
    return _EXPRS[type(expr)](expr)


def _level(expr) -> int:
    if isinstance(expr, ast.Logical):
        return _OR if expr.op == "or" else _AND
    if isinstance(expr, ast.Not):
        return _NOT
    if isinstance(expr, (ast.InList, ast.InRef, ast.Between, ast.IsNull)):
        return _PREDICATE
    if isinstance(expr, ast.Binary):
        return _ARITH_LEVEL.get(expr.op, _PREDICATE)
    if isinstance(expr, ast.Neg) or _is_negative_literal(expr):
        return _UNARY
    return _ATOM


def _is_negative_literal(expr) -> bool:
    return isinstance(expr, ast.Literal) and isinstance(expr.value, (int, float)) and not isinstance(expr.value, bool) and (expr.value < 0 or math.copysign(1, expr.value) < 0)


def _at(expr, level: int) -> str:
    text = format_expr(expr)
    return f"({text})" if _level(expr) < level else text


def _literal(expr: ast.Literal) -> str:
    value = expr.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if any(c in text for c in ".e") else text + ".0"
    # A backslash is doubled only where it would start an escape, so "\d+" stays readable.
    escaped = _LONE_BACKSLASH.sub(r"\\\\", value).replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return f'"{escaped}"'


_LONE_BACKSLASH = re.compile(r"\\(?=[ntr\\\"']|$)")


def _binary(expr: ast.Binary) -> str:
    level = _level(expr)
    if level == _PREDICATE:  # comparisons do not chain
        return f"{_at(expr.left, _SUM)} {expr.op} {_at(expr.right, _SUM)}"
    return f"{_at(expr.left, level)} {expr.op} {_at(expr.right, level + 1)}"


def _logical(expr: ast.Logical) -> str:
    inner = _AND + 1 if expr.op == "and" else _OR + 1
    return f" {expr.op} ".join(_at(o, inner) for o in expr.operands)


def _not_kw(negated: bool) -> str:
    return "not " if negated else ""


def _call(expr: ast.Call) -> str:
    text = f"{expr.name}({', '.join(format_expr(a) for a in expr.args)})"
    if expr.window:
        over = quote_name(expr.over[0].name) if len(expr.over) == 1 else f"({_names(expr.over)})"
        text += f" over {over}"
    return text


def _case(expr: ast.Case) -> str:
    parts = ["case"]
    for condition, value in expr.whens:
        parts.append(f"when {format_expr(condition)} then {format_expr(value)}")
    if expr.default is not None:
        parts.append(f"else {format_expr(expr.default)}")
    parts.append("end")
    return " ".join(parts)


_EXPRS = {
    ast.Literal: _literal,
    ast.Record: lambda e: _assigns(e.items),
    ast.Column: lambda e: quote_name(e.name),
    ast.TableRef: lambda e: quote_name(e.name),
    ast.Ref: lambda e: f"{quote_name(e.table)}.{quote_name(e.column)}",
    ast.InputRef: lambda e: f"${e.index}" + (f".{quote_name(e.column)}" if e.column is not None else ""),
    ast.Call: _call,
    ast.Ordered: lambda e: format_expr(e.expr) + (" desc" if e.descending else ""),
    ast.Neg: lambda e: f"-{_at(e.operand, _UNARY)}",
    ast.Not: lambda e: f"not {_at(e.operand, _NOT)}",
    ast.Binary: _binary,
    ast.Logical: _logical,
    ast.InList: lambda e: f"{_at(e.operand, _SUM)} {_not_kw(e.negated)}in [{', '.join(format_expr(i) for i in e.items)}]",
    ast.InRef: lambda e: f"{_at(e.operand, _SUM)} {_not_kw(e.negated)}in {format_expr(e.ref)}",
    ast.Between: lambda e: f"{_at(e.operand, _SUM)} {_not_kw(e.negated)}between {_at(e.low, _SUM)} and {_at(e.high, _SUM)}",
    ast.IsNull: lambda e: f"{_at(e.operand, _SUM)} is {_not_kw(e.negated)}null",
    ast.Case: _case,
}
