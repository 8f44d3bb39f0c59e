"""Canonicalization: rewrite rules under which programs that mean the same thing get the
same plan, and so the same root id. Each rule is a function ``rule(node) -> node | None``
(None when it does not apply) that keeps the node's results; ``RULES`` lists them."""

from __future__ import annotations

from csvdsl import ast
from csvdsl.check import TableType, expression_type
from csvdsl.format import format_expr
from planner.functions import FUNCTIONS
from planner.node import PlanNode, inputs_first
from planner.ops import map_exprs

MAX_MERGED_CONDITIONS = 16  # conditions one merged filter holds; a longer chain of filters stays a chain
_COMMUTATIVE = {"==", "!=", "+", "*"}
_FLIPPED = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


def _sort_key(expr) -> tuple:
    # Columns and expressions before constants, so `"JFK" == origin` reads `origin == "JFK"`.
    return (isinstance(expr, ast.Literal), format_expr(expr))


def _literal_key(literal: ast.Literal) -> tuple:
    return (literal.value is None, type(literal.value).__name__, format_expr(literal))


def canonical_expr(expr):
    """An expression with commutative operands, comparison sides and `in` lists in one order."""
    return ast.map_expr(expr, _order_node)


def _order_node(expr):
    if isinstance(expr, ast.Logical):
        operands = []
        for operand in expr.operands:  # (a and b) and c is a and b and c
            operands.extend(operand.operands if isinstance(operand, ast.Logical) and operand.op == expr.op else (operand,))
        unique = {format_expr(o): o for o in operands}
        ordered = tuple(unique[k] for k in sorted(unique, key=lambda k: _sort_key(unique[k])))
        return ordered[0] if len(ordered) == 1 else ast.replace(expr, operands=ordered)
    if isinstance(expr, ast.Binary):
        if expr.op in _COMMUTATIVE and _sort_key(expr.right) < _sort_key(expr.left):
            return ast.replace(expr, left=expr.right, right=expr.left)
        if expr.op in _FLIPPED and isinstance(expr.left, ast.Literal) and not isinstance(expr.right, ast.Literal):
            return ast.replace(expr, op=_FLIPPED[expr.op], left=expr.right, right=expr.left)
    if isinstance(expr, ast.InList):
        unique = {format_expr(i): i for i in expr.items}
        return ast.replace(expr, items=tuple(sorted(unique.values(), key=_literal_key)))
    return expr


def order_operands(node: PlanNode) -> PlanNode | None:
    """`and`/`or` operands, `==`/`!=` sides, `+`/`*` operands and `in [...]` lists in canonical order."""
    spec = map_exprs(node.spec, canonical_expr)
    return node.replace(spec=spec) if spec != node.spec else None


def _shift_refs(expr, mapping: dict[int, int]):
    def shift(e):
        return ast.replace(e, index=mapping[e.index]) if isinstance(e, ast.InputRef) else e

    return ast.map_expr(expr, shift)


def _with_inputs(node: PlanNode, inputs: list[PlanNode]) -> dict[int, int]:
    """Append ``node``'s side inputs to ``inputs`` (main first); old index -> new index."""
    mapping = {0: 0}
    for old, extra in enumerate(node.inputs[1:], start=1):
        if extra not in inputs:
            inputs.append(extra)
        mapping[old] = inputs.index(extra)
    return mapping


def _may_fail(expr, table: TableType) -> bool:
    """True when evaluating ``expr`` on more rows could fail (whole-number overflow), so
    moving it across a filter could change whether the program runs at all."""
    for e in ast.walk(expr):
        if isinstance(e, ast.Binary) and e.op in ("+", "-", "*") or isinstance(e, ast.Call) and e.name == "cumsum":
            try:
                if expression_type(e, table) == "int":
                    return True
            except Exception:  # noqa: BLE001 - an expression we cannot type: assume the worst
                return True
    return False


def merge_filters(node: PlanNode) -> PlanNode | None:
    """Two filters in a row are one filter on both conditions (unless the second could
    fail on rows the first removes)."""
    inner = node.inputs[0] if node.op == "filter" and node.inputs else None
    if inner is None or inner.op != "filter" or _may_fail(node.spec.predicate, inner.schema):
        return None
    predicate = inner.spec.predicate
    if isinstance(predicate, ast.Logical) and len(predicate.operands) >= MAX_MERGED_CONDITIONS:
        return None  # merging is linear in the conditions merged: a bound keeps compiling linear
    inputs = [inner.inputs[0]]
    inner_map = _with_inputs(inner, inputs)
    outer_map = _with_inputs(node, inputs)
    predicate = ast.Logical("and", (_shift_refs(inner.spec.predicate, inner_map), _shift_refs(node.spec.predicate, outer_map)))
    spec = ast.Filter(canonical_expr(predicate))
    return PlanNode("filter", spec, tuple(inputs), node.schema, inner.spans + node.spans)


def _columns_read(expr) -> set[str]:
    # `over` partitions are read too, though they are not sub-expressions.
    return {c.name for e in ast.walk(expr) for c in ((e,) if isinstance(e, ast.Column) else getattr(e, "over", ()))}


def _has_window(expr) -> bool:
    """Window functions and window aggregates (`mean(x) over g`) read other rows."""
    return any(isinstance(e, ast.Call) and (FUNCTIONS[e.name].kind == "window" or e.window) for e in ast.walk(expr))


def order_derive_items(node: PlanNode) -> PlanNode | None:
    """Items of one derive in name order, as far as their dependencies allow."""
    if node.op != "derive":
        return None
    items = list(node.spec.items)
    reads = [_columns_read(i.expr) for i in items]
    # i must stay before j when j reads what i writes, i reads what j overwrites, or both write one name.
    before = {j: {i for i in range(j) if items[i].name in reads[j] or items[j].name in reads[i] or items[i].name == items[j].name}
              for j in range(len(items))}
    order, placed = [], set()
    while len(order) < len(items):
        ready = [j for j in range(len(items)) if j not in placed and before[j] <= placed]
        chosen = min(ready, key=lambda j: (items[j].name, j))
        order.append(chosen)
        placed.add(chosen)
    if order == sorted(order):
        return None
    spec = ast.replace(node.spec, items=tuple(items[j] for j in order))
    return node.replace(spec=spec, schema=_derived_schema(node.inputs[0].schema, spec.items, node.schema))


def order_aggregate_items(node: PlanNode) -> PlanNode | None:
    """Aggregate items in name order (each sees only the input rows, so order is free)."""
    if node.op not in ("group", "aggregate"):
        return None
    items = tuple(sorted(node.spec.items, key=lambda i: i.name))
    if items == node.spec.items:
        return None
    keys = len(node.spec.keys) if node.op == "group" else 0
    types = dict(node.schema.columns)
    columns = list(node.schema.columns[:keys]) + [(i.name, types[i.name]) for i in items]
    return node.replace(spec=ast.replace(node.spec, items=items), schema=node.schema.with_columns(columns))


def _derived_schema(source: TableType, items, result: TableType) -> TableType:
    """The derive's result type with its new columns in item order."""
    types = dict(result.columns)
    columns = dict(source.columns)
    for item in items:
        columns[item.name] = types[item.name]
    return result.with_columns(columns.items())


def filter_before_derive(node: PlanNode) -> PlanNode | None:
    """A filter that reads no derived column runs before the derive (fewer rows to derive)."""
    derive = node.inputs[0] if node.op == "filter" and node.inputs else None
    if derive is None or derive.op != "derive":
        return None
    derived = {item.name for item in derive.spec.items}
    if _columns_read(node.spec.predicate) & derived or any(_has_window(i.expr) or _may_fail(i.expr, derive.schema) for i in derive.spec.items):
        return None  # windows see every row, and a derive that fails on a removed row must still fail
    source = derive.inputs[0]
    filtered = PlanNode("filter", node.spec, (source, *node.inputs[1:]), source.schema, node.spans)
    return derive.replace(inputs=(filtered, *derive.inputs[1:]), spans=derive.spans)


RULES = (order_operands, merge_filters, order_derive_items, order_aggregate_items, filter_before_derive)


def canonicalize(node: PlanNode, memo: dict | None = None) -> PlanNode:
    """The canonical form of a plan: inputs first, then every rule until none applies.
    Iterative over inputs, so a chain of thousands of bindings neither recurses deeply nor
    canonicalizes a node twice (a canonical node maps to itself in ``memo``)."""
    memo = {} if memo is None else memo
    for top in inputs_first(node, lambda n: n.inputs, lambda n: n.id in memo):
        inputs = tuple(memo[i.id] for i in top.inputs)
        current = top if inputs == top.inputs else top.replace(inputs=inputs)
        for rule in RULES:
            rewritten = rule(current)
            if rewritten is not None and rewritten.id != current.id:
                current = canonicalize(rewritten, memo)
                break
        memo[top.id] = memo[current.id] = current
    return memo[node.id]
