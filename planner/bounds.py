"""Whether a plan's whole numbers stay far inside 64 bits, judged from the tables' own values.

The pandas executor computes every value of every step, and a whole-number overflow anywhere
fails the program. DuckDB computes only what the result needs: a column nothing reads, a `case`
branch no row takes, or a comparison it rewrites (`x * c > 0` as `x > 0`) is never computed,
and neither is its overflow. So the DuckDB engine runs a plan only where ``overflow_risk``
finds that no whole number can come near 2**63, and leaves the others to pandas.

Each whole-number value gets a bound on its magnitude: a table column's largest value, a
literal's own, and for an operation what its operands' bounds allow (``+`` adds them, ``*``
multiplies them, ``sum`` multiplies by the rows it can add up). A column a step does not track
is bounded by the largest bound seen so far, which holds for every column of every step before
it. The bounds only ever overestimate, so a plan judged safe cannot overflow on either engine;
one judged at risk merely runs on pandas."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from csvdsl import ast
from csvdsl.check import expression_type
from csvdsl.signatures import FLOAT, INT
from planner.compile import Plan

LIMIT = 2**62  # far enough inside 2**63 that pandas' check in floats cannot reach it either
_CAP = 2**64  # any size: bounds past the limit are all alike, so products stay small numbers

# Whole-number functions whose value is bounded whatever their arguments.
_FIXED = {"year": 9999, "month": 12, "day": 31, "hour": 23, "minute": 59, "date_diff": 3_652_059,
          "length": 2**31, "position": 2**31}
_ROWS = {"count", "count_distinct", "row_number", "rank", "dense_rank"}  # at most the rows
_SUMS = {"sum", "cumsum"}  # at most the rows times the largest value
_SAME = {"abs", "coalesce", "first", "last", "lag", "lead", "max", "min", "mode", "mean", "median",
         "quantile", "float"}  # one of the values, or between them (quantile's second: at most 1)
_NEAR = {"int", "floor", "ceil", "round"}


@dataclass
class _Step:
    rows: int
    bounds: dict[str, int] = field(default_factory=dict)  # its number columns' (untracked: largest)


class _AtRisk(Exception):
    pass


def overflow_risk(plan: Plan, order: list[str], tables: Mapping, memo=None) -> str | None:
    """Why a whole number of the plan's steps in ``order`` (inputs first) could come near 2**63,
    or None when none can, over ``tables`` (name -> frame); ``memo.remember(key, compute)``
    keeps each table's bounds (planner.cache.LruDict)."""
    def bounds(name, schema):
        compute = lambda: table_bounds(tables[name], schema)  # noqa: E731
        return compute() if memo is None else memo.remember(("bounds", name), compute)

    judge = _Judge(plan, bounds)
    # Without arithmetic, sums or large literals only the tables' own values need a look.
    grows = any(_could_grow(plan.node(nid)) for nid in order)
    try:
        for nid in order:
            if grows or plan.node(nid)["op"] == "source":
                judge.step(nid)
    except _AtRisk as risk:
        return str(risk)
    return None


def table_bounds(frame, schema) -> dict:
    """A table's row count (under None) and the largest magnitude of each number column."""
    found = {None: len(frame)}
    for column, kind in schema.columns:
        if kind in (INT, FLOAT) and column in frame:
            values = frame[column].to_numpy()
            # fmin and fmax pass over nulls (NaN), which are no value: all null is 0.
            # As Python numbers: numpy's abs(-2**63) is -2**63.
            top = max(abs(np.fmin.reduce(values).item()), abs(np.fmax.reduce(values).item())) if len(values) else 0
            found[column] = 0 if math.isnan(top) else math.ceil(top) if math.isfinite(top) else _CAP
    return found


def _could_grow(attrs) -> bool:
    """Whether a step holds anything whose bound could pass its inputs' (cheap: no typing)."""
    for expr in _exprs(attrs):
        for e in ast.walk(expr):
            if _checked(e) or isinstance(e, ast.Literal) and type(e.value) is int and abs(e.value) >= LIMIT:
                return True
    return False


def _checked(e) -> bool:
    """Whether pandas checks ``e`` for an overflow when it is a whole number."""
    return (isinstance(e, ast.Binary) and e.op in "+-*" or isinstance(e, ast.Neg)
            or isinstance(e, ast.Call) and (e.name in _SUMS or e.name == "abs"))


def _exprs(attrs) -> list:
    from planner.ops import spec_exprs

    if attrs["op"] == "answer":
        return [attrs["spec"].expr]
    return [] if attrs["op"] == "source" else spec_exprs(attrs["spec"])


class _Judge:
    def __init__(self, plan: Plan, table_bounds):
        self.plan, self.table_bounds = plan, table_bounds
        self.steps: dict[str, _Step] = {}
        self.largest = 0  # the largest bound of any number column so far

    def _note(self, bound: int, what, whole: bool = True) -> int:
        """Keep ``bound`` in ``largest``; a whole number's may not reach ``LIMIT`` (``what``:
        text, or a function giving it, names it)."""
        if whole and bound >= LIMIT:
            raise _AtRisk(f"{what() if callable(what) else what} could come near 2**63, where an overflow is "
                          "pandas' to report (DuckDB skips values a result does not need)")
        self.largest = max(self.largest, bound)
        return bound

    def step(self, nid: str) -> None:
        attrs = self.plan.node(nid)
        op, spec, schema = attrs["op"], attrs["spec"], attrs["schema"]
        inputs = [self.steps.get(i) or _Step(_CAP) for i in attrs["inputs"]]
        main = inputs[0] if inputs else _Step(0)
        types = tuple(self.plan.node(i)["schema"] for i in attrs["inputs"])
        if op == "source":
            bounds = dict(self.table_bounds(spec, schema))
            rows = bounds.pop(None)
            kinds = dict(schema.columns)
            for name, bound in bounds.items():
                self._note(bound, f"table {spec}'s column {name}", kinds[name] == INT)
            self.steps[nid] = _Step(rows, bounds)
            return
        if op == "answer":
            parts = [item.expr for item in spec.expr.items] if isinstance(spec.expr, ast.Record) else [spec.expr]
            for part in parts:
                self._judge(part, main, inputs, None, types)
            return
        rows, bounds = main.rows, dict(main.bounds)
        if op in ("derive", "select"):  # each item sees the columns before it
            table, kinds = types[0], dict(types[0].columns)
            for item in spec.items:
                kind, bound = self._judge(item.expr, main, inputs, table, types, bounds)
                bounds.pop(item.name, None)
                if bound is not None:
                    bounds[item.name] = self._note(bound, "", whole=False)
                kinds[item.name] = kind
                table = types[0].with_columns(kinds.items())
        elif op in ("group", "aggregate"):  # each item reads the input
            for item in spec.items:
                _, bound = self._judge(item.expr, main, inputs, types[0], types)
                bounds.pop(item.name, None)
                if bound is not None:
                    bounds[item.name] = self._note(bound, "", whole=False)
            rows = 1 if op == "aggregate" else rows
        elif op == "filter":
            self._judge(spec.predicate, main, inputs, types[0], types)
        elif op == "rename":
            for item in spec.items:
                bounds.pop(item.expr.name, None)
            bounds |= {item.name: main.bounds[item.expr.name] for item in spec.items if item.expr.name in main.bounds}
        elif op in ("join", "cross_join"):
            # Any pair of rows, or a left row alone; a clashing name bounded by either side.
            for name, bound in inputs[1].bounds.items():
                bounds[name] = max(bound, bounds.get(name, 0))
            rows = min(_CAP, max(main.rows * inputs[1].rows, main.rows))
        elif op == "split":
            rows = _CAP  # as many rows as the text has parts
        elif op == "take":
            rows = min(main.rows, spec.count)
        # Only the step's own columns: a name it drops may come back untracked (a join's suffix).
        names = {name for name, _ in getattr(schema, "columns", ())}
        self.steps[nid] = _Step(rows, {name: bound for name, bound in bounds.items() if name in names})

    def _judge(self, expr, main: _Step, inputs, table, types, columns: dict | None = None):
        """Check every whole-number operation in ``expr``; its type, and its bound if it is a number."""
        kinds: dict[int, str | None] = {}

        def kind(e):
            if id(e) not in kinds:
                try:
                    kinds[id(e)] = expression_type(e, table, types)
                except Exception:  # noqa: BLE001 - an expression this cannot type: checked as a whole number
                    kinds[id(e)] = None
            return kinds[id(e)]

        bound = _Bounds(self, main.rows, main.bounds if columns is None else columns, inputs, kind)
        for e in ast.walk(expr):
            if _checked(e) and kind(e) in (INT, None):
                self._note(bound(e), lambda e=e: f"`{_text(e)}`")
            elif isinstance(e, ast.Literal) and type(e.value) is int:
                self._note(abs(e.value), f"the number {e.value}")
        own = kind(expr)
        return own, bound(expr) if own in (INT, FLOAT) else None


class _Bounds:
    """The bound of a number expression over one step's rows (``kind(e)``: its type)."""

    def __init__(self, judge: _Judge, rows: int, columns: dict[str, int], inputs: list[_Step], kind):
        self.judge, self.rows, self.columns, self.inputs, self.kind = judge, rows, columns, inputs, kind
        self._known: dict[int, int] = {}  # by id: each sub-expression once, however often asked

    def __call__(self, e) -> int:
        known = self._known.get(id(e))
        if known is None:
            known = self._known[id(e)] = min(_CAP, self._bound(e))
        return known

    def _number(self, e) -> int:
        """``e``'s bound if it is a number (text read as a number may be any)."""
        return self(e) if self.kind(e) in (INT, FLOAT) else _CAP

    def _bound(self, e) -> int:
        if isinstance(e, ast.Literal):
            return math.ceil(abs(e.value)) if isinstance(e.value, (int, float)) else 0
        if isinstance(e, ast.Column):
            return self.columns.get(e.name, self.judge.largest)
        if isinstance(e, ast.InputRef):
            return self.inputs[e.index].bounds.get(e.column, self.judge.largest)
        if isinstance(e, ast.Neg):
            return self(e.operand)
        if isinstance(e, ast.Binary):
            left, right = self(e.left), e.right
            if e.op == "/":  # by a constant: smaller or larger by it; by a column: any size
                constant = isinstance(right, ast.Literal) and isinstance(right.value, (int, float)) and right.value
                # Only division shrinks a bound: a capped one stands for any size, which stays any size.
                quotient = left / abs(right.value) if constant and left < _CAP else math.inf
                return int(quotient) + 1 if quotient < _CAP else _CAP
            return left * self(right) if e.op == "*" else left + self(right) if e.op in "+-" else left  # % is at most |left|
        if isinstance(e, ast.Case):
            values = [value for _, value in e.whens] + ([e.default] if e.default is not None else [])
            return max(map(self, values), default=0)
        if isinstance(e, ast.Call):
            return self._call(e)
        return _CAP

    def _call(self, e: ast.Call) -> int:
        args = [a.expr if isinstance(a, ast.Ordered) else a for a in e.args]
        if e.name in _FIXED:
            return _FIXED[e.name]
        if e.name in _ROWS:
            return self.rows
        if e.name in _SUMS:
            return self.rows * self._number(args[0])
        if e.name in _SAME:
            return max(map(self._number, args), default=0)
        if e.name in _NEAR and len(args) == 1:
            return self._number(args[0]) + 1  # rounded to a whole number next to it
        if e.name == "round" and isinstance(args[1], ast.Literal) and isinstance(args[1].value, int):
            return self._number(args[0]) + 10 ** max(0, -args[1].value)  # to tens, hundreds, ...
        return _CAP  # exp(), number() of text, std(), ...: any size


def _text(expr) -> str:
    from csvdsl.format import format_expr

    return format_expr(expr)
