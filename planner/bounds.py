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

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from csvdsl import ast
from csvdsl.check import expression_type
from csvdsl.signatures import INT
from planner.compile import Plan

LIMIT = 2**62  # far enough inside 2**63 that pandas' check in floats cannot reach it either
_CAP = 2**64  # bounds past the limit are all alike: capped, so products stay small numbers

# Whole-number functions whose value is bounded whatever their arguments.
_FIXED = {"year": 9999, "month": 12, "day": 31, "hour": 23, "minute": 59, "date_diff": 3_652_059,
          "length": 2**31, "position": 2**31}
_ROWS = {"count", "count_distinct", "row_number", "rank", "dense_rank"}  # at most the rows
_SUMS = {"sum", "cumsum"}  # at most the rows times the largest value
_SAME = {"abs", "coalesce", "first", "last", "lag", "lead", "max", "min", "mode"}  # one of the values


@dataclass
class _Step:
    rows: int
    bounds: dict[str, int] = field(default_factory=dict)  # whole-number columns only


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
    """A table's row count (under None) and the largest magnitude of each whole-number column."""
    found = {None: len(frame)}
    for column, kind in schema.columns:
        if kind == INT and column in frame:
            values = frame[column].to_numpy()
            values = values[~np.isnan(values)] if values.dtype.kind == "f" else values  # held as floats
            found[column] = max(abs(int(values.min())), abs(int(values.max()))) if len(values) else 0
    return found


def _could_grow(attrs) -> bool:
    """Whether a step holds anything whose bound could pass its inputs' (cheap: no typing)."""
    for expr in _exprs(attrs):
        for e in ast.walk(expr):
            if (isinstance(e, ast.Binary) and e.op in "+-*" or isinstance(e, ast.Call) and e.name in _SUMS
                    or isinstance(e, ast.Literal) and type(e.value) is int and abs(e.value) >= LIMIT):
                return True
    return False


def _exprs(attrs) -> list:
    from planner.ops import spec_exprs

    if attrs["op"] == "answer":
        return [attrs["spec"].expr]
    return [] if attrs["op"] == "source" else spec_exprs(attrs["spec"])


class _Judge:
    def __init__(self, plan: Plan, table_bounds):
        self.plan, self.table_bounds = plan, table_bounds
        self.steps: dict[str, _Step] = {}
        self.largest = 0  # the largest bound of any column so far

    def _note(self, bound: int, what) -> int:
        """Keep ``bound`` in ``largest``; ``what`` (text, or a function giving it) is named if it is too large."""
        if bound >= LIMIT:
            raise _AtRisk(f"{what() if callable(what) else what} could come near 2**63, where an overflow is "
                          "pandas' to report (DuckDB skips values a result does not need)")
        self.largest = max(self.largest, bound)
        return bound

    def step(self, nid: str) -> None:
        attrs = self.plan.node(nid)
        op, spec = attrs["op"], attrs["spec"]
        inputs = [self.steps.get(i) or _Step(_CAP) for i in attrs["inputs"]]
        main = inputs[0] if inputs else _Step(0)
        if op == "source":
            bounds = dict(self.table_bounds(spec, attrs["schema"]))
            rows = bounds.pop(None)
            for name, bound in bounds.items():
                self._note(bound, f"table {spec}'s column {name}")
            self.steps[nid] = _Step(rows, bounds)
            return
        types = tuple(self.plan.node(i)["schema"] for i in attrs["inputs"])
        if op == "answer":
            parts = [item.expr for item in spec.expr.items] if isinstance(spec.expr, ast.Record) else [spec.expr]
            for part in parts:
                self._bound_all(part, main, inputs, None, types)
            return
        if op in ("derive", "select", "group", "aggregate"):
            self.steps[nid] = self._assign(op, spec, main, inputs, types, attrs["schema"])
            return
        if op == "filter":
            self._bound_all(spec.predicate, main, inputs, types[0], types)
        if op == "rename":
            bounds = dict(main.bounds)
            for item in spec.items:
                if item.expr.name in main.bounds:
                    bounds[item.name] = main.bounds[item.expr.name]
            self.steps[nid] = _Step(main.rows, bounds)
        elif op in ("join", "cross_join"):
            # Any pair of rows, or a left row alone; a clashing name bounded by either side.
            bounds = dict(main.bounds)
            for name, bound in inputs[1].bounds.items():
                bounds[name] = max(bound, bounds.get(name, 0))
            self.steps[nid] = _Step(min(_CAP, max(main.rows * inputs[1].rows, main.rows)), bounds)
        elif op == "split":
            self.steps[nid] = _Step(_CAP, dict(main.bounds))  # as many rows as the text has parts
        elif op == "take":
            self.steps[nid] = _Step(min(main.rows, spec.count), dict(main.bounds))
        else:  # filter, sort, distinct, drop, describe: fewer rows (or a summary) of the same values
            self.steps[nid] = _Step(main.rows, dict(main.bounds))

    def _assign(self, op, spec, main: _Step, inputs, types, schema) -> _Step:
        """Items computed in order, each seeing those before it (derive, select)."""
        seen = dict(main.bounds)
        kept = {key.name: seen.get(key.name, self.largest) for key in getattr(spec, "keys", ())}
        visible = types[0].with_columns({**dict(types[0].columns), **dict(schema.columns)}.items())
        for item in spec.items:
            bound = self._bound_all(item.expr, main, inputs, visible, types, seen)
            if bound is None:
                seen.pop(item.name, None)
                kept.pop(item.name, None)
            else:
                seen[item.name] = kept[item.name] = bound
                self.largest = max(self.largest, bound)  # an untracked name (a join's suffix) may be this one
        rows = 1 if op == "aggregate" else main.rows
        return _Step(rows, seen if op == "derive" else kept)

    def _bound_all(self, expr, main: _Step, inputs, table, types, columns: dict | None = None) -> int | None:
        """Check every whole-number operation in ``expr``; its own bound if it is a whole number."""
        columns = main.bounds if columns is None else columns
        bound = _Bounds(self, main.rows, columns, inputs)

        def whole(e) -> bool:
            try:
                return expression_type(e, table, types) == INT
            except Exception:  # noqa: BLE001 - an expression this cannot type: check it as if whole
                return True

        for e in ast.walk(expr):
            if (isinstance(e, ast.Binary) and e.op in "+-*" or isinstance(e, ast.Call) and e.name in _SUMS) and whole(e):
                self._note(bound(e), lambda e=e: f"`{_text(e)}`")
            elif isinstance(e, ast.Literal) and type(e.value) is int:
                self._note(abs(e.value), f"the number {e.value}")
        return bound(expr) if whole(expr) else None


class _Bounds:
    """The bound of a whole-number expression over one step's rows."""

    def __init__(self, judge: _Judge, rows: int, columns: dict[str, int], inputs: list[_Step]):
        self.judge, self.rows, self.columns, self.inputs = judge, rows, columns, inputs
        self._known: dict[int, int] = {}  # by id: each sub-expression once, however often asked

    def __call__(self, e) -> int:
        known = self._known.get(id(e))
        if known is None:
            known = self._known[id(e)] = min(_CAP, self._bound(e))
        return known

    def _bound(self, e) -> int:
        if isinstance(e, ast.Literal):
            return abs(int(e.value)) if isinstance(e.value, (int, float)) else 0
        if isinstance(e, ast.Column):
            return self.columns.get(e.name, self.judge.largest)
        if isinstance(e, ast.InputRef):
            return self.inputs[e.index].bounds.get(e.column, self.judge.largest)
        if isinstance(e, ast.Neg):
            return self(e.operand)
        if isinstance(e, ast.Binary):
            left, right = self(e.left), self(e.right)
            return left * right if e.op == "*" else left + right if e.op in "+-" else left  # % is at most |left|
        if isinstance(e, ast.Case):
            values = [value for _, value in e.whens] + ([e.default] if e.default is not None else [])
            return max(map(self, values), default=0)
        if isinstance(e, ast.Call):
            if e.name in _FIXED:
                return _FIXED[e.name]
            if e.name in _ROWS:
                return self.rows
            if e.name in _SUMS:
                return self.rows * self(e.args[0])
            if e.name in _SAME:
                return max((self(a.expr if isinstance(a, ast.Ordered) else a) for a in e.args), default=0)
        return _CAP  # int(), floor(), round() of a decimal number, ...: any 64-bit value


def _text(expr) -> str:
    from csvdsl.format import format_expr

    return format_expr(expr)
