"""The op registry: one entry per plan operation, with its AST node, its canonical
parameters (what the node id hashes), its pandas implementation and its English phrase."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from csvdsl import ast
from csvdsl.check import DESCRIBE_TYPE, join_column_name
from csvdsl.errors import quote_name
from csvdsl.format import select_item, format_expr
from planner.evaluate import (
    Scope,
    aggregate_constants,
    aggregate_inputs,
    aggregate_value,
    condition_mask,
    evaluate,
    evaluate_series,
    scalar,
    scratch_name,
)
from planner.functions import FUNCTIONS


@dataclass(frozen=True)
class Op:
    """One operation: ``params(spec)`` is JSON-able and canonical; ``run(spec, inputs)``
    computes the node's table from its input tables (the main input first)."""

    name: str
    node: type | None
    params: Callable
    run: Callable
    english: str
    pairs: bool = False  # its second input is a table whose rows it pairs with the first's (a join)


# ---------------------------------------------------------------- implementations


def _source(spec, inputs):
    raise AssertionError("sources are read by the executor")


def _filter(spec: ast.Filter, inputs):
    frame = inputs[0]
    mask = condition_mask(evaluate(spec.predicate, Scope(frame, inputs)), len(frame))
    return frame if mask.all() else frame[mask]


def _select(spec: ast.Select, inputs):
    # Items are sequential, as derive's; only the items are kept (the checker made their names unique).
    return _derive(spec, inputs)[[item.name for item in spec.items]]


def _derive(spec: ast.Derive, inputs):
    frame = inputs[0].copy(deep=False)
    for item in spec.items:  # sequential: later items see earlier ones
        frame[item.name] = evaluate_series(item.expr, Scope(frame, inputs))
    return frame


def _drop(spec: ast.Drop, inputs):
    return inputs[0].drop(columns=[c.name for c in spec.columns])


def _rename(spec: ast.Rename, inputs):
    return inputs[0].rename(columns={item.expr.name: item.name for item in spec.items})


SMALL_SORT = 64  # rows up to which a sort is done in Python: pandas costs ~0.5 ms a sort, whatever the size


def _sort(spec: ast.Sort, inputs):
    frame = inputs[0]
    if len(frame) <= 1:
        return frame
    if len(frame) <= SMALL_SORT:
        order = _small_order(frame, spec.keys)
        if order is not None:
            return frame.take(order)
    return frame.sort_values(
        [k.column.name for k in spec.keys],
        ascending=[not k.descending for k in spec.keys],
        kind="stable",
        na_position="last",
    )


def _small_order(frame, keys) -> list[int] | None:
    """The rows' order as ``sort_values`` gives it (stable, nulls last in either direction):
    one stable sort per key, the last key first; None when values do not compare."""
    order = list(range(len(frame)))
    for key in reversed(keys):
        column = frame[key.column.name]
        values, nulls = column.tolist(), column.isna().tolist()
        if key.descending:  # reverse keeps ties in order; (False, 0) puts the nulls last
            sort_key = lambda i: (False, 0) if nulls[i] else (True, values[i])  # noqa: E731
        else:
            sort_key = lambda i: (True, 0) if nulls[i] else (False, values[i])  # noqa: E731
        try:
            order.sort(key=sort_key, reverse=key.descending)
        except TypeError:  # mixed values in an object column: pandas decides
            return None
    return order


def _take(spec: ast.Take, inputs):
    return inputs[0].head(spec.count)


def _distinct(spec: ast.Distinct, inputs):
    frame = inputs[0]
    if spec.columns:
        frame = frame[[c.name for c in spec.columns]]
    return frame.drop_duplicates()


def _join(spec: ast.Join, inputs):
    left, right = inputs[0], inputs[1]
    left_keys = [k.left.name for k in spec.keys]
    # Null keys never match (SQL); pandas would match NaN with NaN.
    right = right.dropna(subset=list(dict.fromkeys(k.right.name for k in spec.keys)))
    renamed = {}
    taken = set(left.columns)
    right_key_names = {k.right.name for k in spec.keys}
    for name in right.columns:
        if name not in right_key_names:
            renamed[name] = join_column_name(name, taken, spec.table.name)
            taken.add(renamed[name])
    right_part = right[list(renamed)].rename(columns=renamed)
    temp_keys = []
    for key in spec.keys:  # the right keys under names neither side's columns have, dropped after the merge
        temp_keys.append(scratch_name("__key", taken, temp_keys))
        right_part[temp_keys[-1]] = right[key.right.name]
    merged = left.merge(right_part, left_on=left_keys, right_on=temp_keys, how=spec.kind, sort=False)
    return merged.drop(columns=temp_keys)


def _cross_join(spec: ast.CrossJoin, inputs):
    left, right = inputs
    taken, renamed = set(left.columns), {}
    for name in right.columns:
        renamed[name] = join_column_name(name, taken, spec.table.name)
        taken.add(renamed[name])
    return left.merge(right.rename(columns=renamed), how="cross", sort=False)


def _split(spec: ast.Split, inputs):
    frame = inputs[0]
    name = spec.column.name
    column = frame[name]
    if not (pd.api.types.is_string_dtype(column) or column.dtype == object):
        return frame  # a text column of nulls only: each row stays, its value null
    parts = column.map(lambda value: value.split(spec.separator), na_action="ignore")
    out = frame.assign(**{name: parts}).explode(name, ignore_index=True)
    return out.assign(**{name: out[name].astype("str")})


def _aggregate_calls(items, columns):
    """Each item with its aggregate calls replaced by columns of the aggregated table, named
    apart from ``columns`` (the input's, among them the group keys the table also holds)."""
    calls: dict = {}

    def swap(node):
        if isinstance(node, ast.Call) and FUNCTIONS[node.name].kind == "aggregate":
            if node not in calls:
                calls[node] = scratch_name("__agg", columns, calls.values())
            return ast.Column(calls[node])
        return node

    outer = [ast.map_expr(item.expr, swap) for item in items]
    return calls, outer


def _grouped(keys, items, inputs):
    frame = inputs[0]
    calls, outer = _aggregate_calls(items, frame.columns)
    work = {k: frame[k] for k in keys}
    columns = {call: aggregate_inputs(call, frame, inputs, work) for call in calls}
    # Only the frame's own columns: group the frame itself rather than a copy of some of them.
    own = all(name in frame.columns for name in work)
    source = frame if own else pd.DataFrame(work, index=frame.index)
    grouped = source.groupby(keys, dropna=False, sort=True, observed=True)
    results = {temp: FUNCTIONS[call.name].grouped(grouped, columns[call], aggregate_constants(call))
               for call, temp in calls.items()}
    if results:
        direct = _bare_aggregates(keys, items, outer, results)
        if direct is not None:
            return direct
        table = pd.DataFrame(results).reset_index()
    else:
        table = grouped.size().reset_index()[keys]
    if not len(table):
        table = pd.DataFrame({k: frame[k].iloc[:0] for k in keys} | {t: pd.Series(dtype=float) for t in results})
    return _finish(table, keys, items, outer, inputs)


def _bare_aggregates(keys, items, outer, results: dict):
    """The grouped table when every item is an aggregate as it is (``n = count()``): built
    at once from the groups and the results, as ``_finish`` would build it from the joined
    table (one frame instead of three); None otherwise."""
    index = next(iter(results.values())).index
    if not len(index) or not all(isinstance(e, ast.Column) and e.name in results for e in outer) \
            or any(r.index is not index and not r.index.equals(index) for r in results.values()):
        return None
    levels = [index.get_level_values(i) for i in range(index.nlevels)] if isinstance(index, pd.MultiIndex) else [index]
    data = {key: level.array for key, level in zip(keys, levels)}
    for item, expr in zip(items, outer):
        data[item.name] = results[expr.name].array
    return pd.DataFrame(data, index=pd.RangeIndex(len(index)))


def _whole(items, inputs):
    frame = inputs[0]
    calls, outer = _aggregate_calls(items, frame.columns)
    work: dict = {}
    values = {temp: aggregate_value(call, frame, inputs, work) for call, temp in calls.items()}
    # A null aggregate is stored as NaN so that arithmetic around it stays numeric.
    cells = {k: [np.nan if v is None else v] for k, v in values.items()}
    if all(isinstance(e, ast.Column) and e.name in cells for e in outer):  # bare aggregates: one frame, not two
        return pd.DataFrame({item.name: cells[e.name] for item, e in zip(items, outer)}, index=pd.RangeIndex(1))
    table = pd.DataFrame(cells, index=pd.RangeIndex(1))
    return _finish(table, [], items, outer, inputs)


def _finish(table, keys, items, outer, inputs):
    scope = Scope(table, inputs)
    data = {k: table[k] for k in keys}
    for item, expr in zip(items, outer):
        data[item.name] = evaluate_series(expr, scope)
    return pd.DataFrame(data, index=table.index)


def _summary_text(value, kind: str) -> str:
    value = scalar(value)
    if value is None:
        return ""
    if kind == "int":
        return str(int(value))
    if kind == "float":
        return f"{value:.6g}"
    if kind in ("date", "datetime"):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if kind == "date" else stamp.isoformat(sep=" ")
    text = str(value)
    return text if len(text) <= 24 else text[:23] + "…"


def _describe(schema, inputs):
    """One row per column: its type, nulls, distinct values, range or most frequent values."""
    frame = inputs[0]
    rows = []
    for name, kind in schema.columns:
        column = frame[name]
        present = column.dropna()
        low = high = top = ""
        if kind in ("int", "float", "date", "datetime") and len(present):
            low, high = _summary_text(present.min(), kind), _summary_text(present.max(), kind)
        elif len(present):
            counts = present.value_counts().head(3)
            top = ", ".join(f"{_summary_text(v, kind)} ({n:,})" for v, n in counts.items())
        # The name as it is typed in a program (backticks and escapes where needed).
        rows.append((quote_name(name), kind, int(column.isna().sum()), int(present.nunique()), low, high, top))
    return pd.DataFrame(rows, columns=DESCRIBE_TYPE.names)


def _group(spec: ast.Group, inputs):
    return _grouped([k.name for k in spec.keys], spec.items, inputs)


def _aggregate(spec: ast.Aggregate, inputs):
    return _whole(spec.items, inputs)


# ---------------------------------------------------------------- expressions of a spec


def _items(spec, fn):
    return ast.replace(spec, items=tuple(ast.replace(i, expr=fn(i.expr)) for i in spec.items))


_EXPRESSION_FIELDS = {
    ast.Filter: lambda spec, fn: ast.replace(spec, predicate=fn(spec.predicate)),
    ast.Answer: lambda spec, fn: ast.replace(spec, expr=fn(spec.expr)),
    ast.Select: _items,
    ast.Derive: _items,
    ast.Group: _items,
    ast.Aggregate: _items,
}


def map_exprs(spec, fn):
    """The spec with ``fn`` applied to each expression it holds (specs without any unchanged)."""
    mapper = _EXPRESSION_FIELDS.get(type(spec))
    return mapper(spec, fn) if mapper else spec


def spec_exprs(spec) -> list:
    """The expressions a spec holds, in order (none for specs without any)."""
    found = []
    map_exprs(spec, lambda e: found.append(e) or e)
    return found


# ---------------------------------------------------------------- parameters


def _pairs(items) -> list[list[str]]:
    # A list, not a dict: the order of derive items can change their meaning.
    return [[item.name, format_expr(item.expr)] for item in items]


def _join_params(spec: ast.Join) -> dict:
    keys = [[k.left.name, k.right.name] for k in spec.keys]
    # The right side's name suffixes clashing columns; compile blanks it when nothing clashes,
    # so a binding's name counts only where it changes the result.
    return {"kind": spec.kind, "on": keys, "suffix": spec.table.name}


OPS: dict[str, Op] = {}
OPS_BY_NODE: dict[type, Op] = {}


def _register(*ops: Op) -> None:
    for op in ops:
        OPS[op.name] = op
        if op.node is not None:
            OPS_BY_NODE[op.node] = op


_register(
    Op("source", None, lambda spec: {"table": spec}, _source, "Start from the {table} table."),
    Op("filter", ast.Filter, lambda s: {"predicate": format_expr(s.predicate)}, _filter, "{from}keep {them} {predicate}."),
    Op("select", ast.Select, lambda s: {"columns": [select_item(i) for i in s.items]}, _select, "{from}keep only {items}."),
    Op("derive", ast.Derive, lambda s: {"columns": _pairs(s.items)}, _derive, "{from}add {items}."),
    Op("drop", ast.Drop, lambda s: {"columns": [c.name for c in s.columns]}, _drop, "{from}remove {columns}."),
    Op("rename", ast.Rename, lambda s: {"columns": {i.expr.name: i.name for i in s.items}}, _rename, "{from}rename {renames}."),
    Op("group", ast.Group, lambda s: {"keys": [k.name for k in s.keys], "aggregates": _pairs(s.items)}, _group, "For each {keys}{among}, compute {items}."),
    Op("aggregate", ast.Aggregate, lambda s: {"aggregates": _pairs(s.items)}, _aggregate, "{over}compute {items}."),
    Op("sort", ast.Sort, lambda s: {"keys": [[k.column.name, "desc" if k.descending else "asc"] for k in s.keys]}, _sort, "{from}sort {them} by {keys}."),
    Op("take", ast.Take, lambda s: {"count": s.count}, _take, "{from}keep the first {count}."),
    Op("distinct", ast.Distinct, lambda s: {"columns": [c.name for c in s.columns]}, _distinct, "{from}keep only the {distinct}."),
    Op("join", ast.Join, _join_params, _join, "{from}add the matching rows of {table} by {on}{kind}.", pairs=True),
    Op("cross_join", ast.CrossJoin, lambda s: {"suffix": s.table.name}, _cross_join, "{from}pair each row with every row of {table}.", pairs=True),
    Op("split", ast.Split, lambda s: {"column": s.column.name, "separator": s.separator}, _split,
       "{from}split {column} at each {separator}, one row per part."),
    Op("answer", ast.Answer, lambda s: {"expr": format_expr(s.expr)}, None, "Answer {expr}."),
    # Exploration: the spec is the described table's type; the input id says which table.
    Op("describe", None, lambda schema: {}, _describe, "Describe the columns of {subject}."),
)
