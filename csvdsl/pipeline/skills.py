"""The reasoning skills a plan uses, read off its operations and expressions, so a batch can
report how many tasks compose two or more kinds of reasoning."""

from __future__ import annotations

import datetime as dt

from csvdsl import ast
from csvdsl.signatures import SIGNATURES
from planner.ops import spec_exprs

SKILLS = ("filtering", "counting", "superlatives", "comparison", "time", "arithmetic", "grouping", "joins",
          "windows", "statistics")

_TIME_FUNCTIONS = frozenset({"year", "month", "day", "hour", "minute", "weekday", "date", "datetime", "date_diff"})
_PLAIN_AGGREGATES = frozenset({"count", "count_distinct", "sum", "min", "max", "first", "last"})
_COMPARE = frozenset({">", "<", ">=", "<=", "==", "!="})
_ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})


def _is_housekeeping(predicate) -> bool:
    """``x is not null``: a filter that tidies rather than selects."""
    return isinstance(predicate, ast.IsNull)


def skills(plan) -> list[str]:
    """The skills of the plan's needed nodes, in ``SKILLS`` order."""
    found: set[str] = set()
    nodes = [plan.node(n) for n in plan.needed()]
    ops = [a["op"] for a in nodes]
    for attrs in nodes:
        op, spec = attrs["op"], attrs["spec"]
        if op == "filter" and not _is_housekeeping(spec.predicate):
            found.add("filtering")
        if op == "group":
            found.add("grouping")
        if op == "join":
            found.add("joins")
        if op == "take" and "sort" in ops:
            found.add("superlatives")
        if op in ("source", "describe"):
            continue
        for expr in spec_exprs(spec):
            for node in ast.walk(expr):
                if isinstance(node, ast.Call):
                    signature = SIGNATURES.get(node.name)
                    if node.name in ("count", "count_distinct"):
                        found.add("counting")
                    if node.name in _TIME_FUNCTIONS:
                        found.add("time")
                    if signature is not None and signature.kind == "window" or node.over:
                        found.add("windows")
                        if node.name in ("rank", "dense_rank", "row_number") and op == "derive":
                            found.add("superlatives")
                    if signature is not None and signature.kind == "aggregate" and node.name not in _PLAIN_AGGREGATES:
                        found.add("statistics")
                elif isinstance(node, ast.Binary):
                    if node.op in _ARITHMETIC:
                        found.add("arithmetic")
                    elif op == "answer" and node.op in _COMPARE:
                        found.add("comparison")
                elif isinstance(node, (ast.InputRef, ast.InRef)) and op == "filter":
                    found.add("comparison")  # rows compared with another result: "above the average"
                elif isinstance(node, ast.Literal) and op == "filter" and _is_temporal(node.value):
                    found.add("time")
    return [s for s in SKILLS if s in found]


def _is_temporal(value) -> bool:
    return isinstance(value, (dt.date, dt.datetime))
