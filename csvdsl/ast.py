"""Immutable AST nodes of a csvdsl program. Spans are kept for error messages but take no
part in equality or hashing, so two programs that say the same thing compare equal."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Union

from csvdsl.errors import Span


def _span():
    return field(default=None, compare=False, hash=False, repr=False, kw_only=True)


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Literal:
    """A constant: int, float, str, bool or None (null)."""

    value: int | float | str | bool | None
    span: Span | None = _span()

    def __eq__(self, other):
        # 1 == 1.0 == True in Python; in the language they are different literals.
        return isinstance(other, Literal) and type(self.value) is type(other.value) and self.value == other.value

    def __hash__(self):
        return hash((Literal, type(self.value).__name__, self.value))


@dataclass(frozen=True)
class Column:
    """A column of the table flowing through the pipeline."""

    name: str
    span: Span | None = _span()


@dataclass(frozen=True)
class Ref:
    """``table.column`` - a scalar when the table has at most one row, else a list."""

    table: str
    column: str
    span: Span | None = _span()


@dataclass(frozen=True)
class TableRef:
    """A table or binding used as a whole (a pipeline's source, a join's right side, an answer)."""

    name: str
    span: Span | None = _span()


@dataclass(frozen=True)
class InputRef:
    """Plan-only: column ``column`` of the node's input number ``index`` (the whole table when
    ``column`` is None). Compiling replaces binding names with these, so names never reach ids."""

    index: int
    column: str | None = None
    span: Span | None = _span()


@dataclass(frozen=True)
class Ordered:
    """An ordering argument of a window function: ``rank(n desc)``."""

    expr: "Expr"
    descending: bool
    span: Span | None = _span()


@dataclass(frozen=True)
class Call:
    """A function call; ``over`` partitions a window function or a window aggregate, and
    ``window`` says an ``over`` clause was written (``mean(x) over ()`` has no columns)."""

    name: str
    args: tuple
    over: tuple[Column, ...] = ()
    window: bool = False
    span: Span | None = _span()

    def __post_init__(self):
        if self.over and not self.window:
            object.__setattr__(self, "window", True)


@dataclass(frozen=True)
class Neg:
    operand: "Expr"
    span: Span | None = _span()


@dataclass(frozen=True)
class Not:
    operand: "Expr"
    span: Span | None = _span()


@dataclass(frozen=True)
class Binary:
    """Arithmetic (``+ - * / %``) or comparison (``== != < <= > >=``)."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span | None = _span()


@dataclass(frozen=True)
class Logical:
    """``and`` / ``or`` over two or more operands."""

    op: str
    operands: tuple
    span: Span | None = _span()

    def __post_init__(self):
        if self.op not in ("and", "or") or len(self.operands) < 2:
            raise ValueError(f"bad logical node {self.op} with {len(self.operands)} operands")


@dataclass(frozen=True)
class InList:
    operand: "Expr"
    items: tuple
    negated: bool = False
    span: Span | None = _span()


@dataclass(frozen=True)
class InRef:
    """``x in t.col``: membership in another table's column."""

    operand: "Expr"
    ref: Ref
    negated: bool = False
    span: Span | None = _span()


@dataclass(frozen=True)
class Between:
    operand: "Expr"
    low: "Expr"
    high: "Expr"
    negated: bool = False
    span: Span | None = _span()


@dataclass(frozen=True)
class IsNull:
    operand: "Expr"
    negated: bool = False
    span: Span | None = _span()


@dataclass(frozen=True)
class Case:
    whens: tuple  # of (condition, value) pairs
    default: "Expr | None" = None
    span: Span | None = _span()

    def __post_init__(self):
        if not self.whens:
            raise ValueError("case needs at least one when")


@dataclass(frozen=True)
class Record:
    """A multi-part answer, ``answer mean = s.m, std = s.sd``: named parts, in order."""

    items: tuple  # of Assign
    span: Span | None = _span()

    def __post_init__(self):
        if not self.items:
            raise ValueError("a record needs at least one part")


Expr = Union[Literal, Column, Ref, Call, Neg, Not, Binary, Logical, InList, InRef, Between, IsNull, Case, Ordered, Record]


# ---------------------------------------------------------------- transforms


@dataclass(frozen=True)
class Assign:
    name: str
    expr: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class SortKey:
    column: Column
    descending: bool = False
    span: Span | None = _span()


@dataclass(frozen=True)
class JoinKey:
    left: Column
    right: Column
    span: Span | None = _span()


@dataclass(frozen=True)
class Filter:
    predicate: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class Select:
    items: tuple[Assign, ...]  # `select a` is Assign("a", Column("a"))
    span: Span | None = _span()


@dataclass(frozen=True)
class Derive:
    items: tuple[Assign, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class Drop:
    columns: tuple[Column, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class Rename:
    items: tuple[Assign, ...]  # new name = Column(old name)
    span: Span | None = _span()


@dataclass(frozen=True)
class Group:
    keys: tuple[Column, ...]
    items: tuple[Assign, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class Aggregate:
    items: tuple[Assign, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class Sort:
    keys: tuple[SortKey, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class Take:
    count: int
    span: Span | None = _span()

    def __post_init__(self):
        if self.count < 0:
            raise ValueError("take needs a count >= 0")


@dataclass(frozen=True)
class Distinct:
    columns: tuple[Column, ...] = ()
    span: Span | None = _span()


@dataclass(frozen=True)
class Join:
    table: TableRef
    keys: tuple[JoinKey, ...]
    kind: str = "inner"
    span: Span | None = _span()

    def __post_init__(self):
        if self.kind not in ("inner", "left"):
            raise ValueError(f"unknown join kind {self.kind}")


@dataclass(frozen=True)
class CrossJoin:
    """``join cross t``: every row paired with every row of ``t``."""

    table: TableRef
    span: Span | None = _span()


@dataclass(frozen=True)
class Split:
    """``split col on "sep"``: one row per part of ``col``, the other columns repeated."""

    column: Column
    separator: str
    span: Span | None = _span()

    def __post_init__(self):
        if not self.separator:
            raise ValueError("split needs a separator")


Transform = Union[Filter, Select, Derive, Drop, Rename, Group, Aggregate, Sort, Take, Distinct, Join, CrossJoin, Split]


# ---------------------------------------------------------------- statements


@dataclass(frozen=True)
class Pipeline:
    source: TableRef
    transforms: tuple = ()
    span: Span | None = _span()


@dataclass(frozen=True)
class Binding:
    name: str
    pipeline: Pipeline
    comments: tuple[str, ...] = ()
    span: Span | None = _span()


@dataclass(frozen=True)
class Show:
    pipeline: Pipeline
    comments: tuple[str, ...] = ()
    span: Span | None = _span()


@dataclass(frozen=True)
class Answer:
    expr: Expr
    comments: tuple[str, ...] = ()
    span: Span | None = _span()


@dataclass(frozen=True)
class Describe:
    """``describe TABLE``: a summary of each column, for exploring an unknown table."""

    table: TableRef
    comments: tuple[str, ...] = ()
    span: Span | None = _span()


@dataclass(frozen=True)
class ListTables:
    """``tables``: the tables and bindings that can be used."""

    comments: tuple[str, ...] = ()
    span: Span | None = _span()


Statement = Union[Binding, Show, Answer, Describe, ListTables]


@dataclass(frozen=True)
class Program:
    statements: tuple = ()
    trailing_comments: tuple[str, ...] = ()

    @property
    def answer(self) -> Answer | None:
        answers = [s for s in self.statements if isinstance(s, Answer)]
        return answers[-1] if answers else None


def children(expr) -> tuple:
    """The sub-expressions of an expression node, in source order."""
    getter = _CHILDREN.get(type(expr))
    return getter(expr) if getter else ()


_CHILDREN = {
    Call: lambda e: tuple(e.args),
    Neg: lambda e: (e.operand,),
    Not: lambda e: (e.operand,),
    Binary: lambda e: (e.left, e.right),
    Logical: lambda e: tuple(e.operands),
    InList: lambda e: (e.operand, *e.items),
    InRef: lambda e: (e.operand, e.ref),
    Between: lambda e: (e.operand, e.low, e.high),
    IsNull: lambda e: (e.operand,),
    Case: lambda e: tuple(x for pair in e.whens for x in pair) + ((e.default,) if e.default is not None else ()),
    Ordered: lambda e: (e.expr,),
    Record: lambda e: tuple(item.expr for item in e.items),
}


def deepest(root, children_of=children, counts=lambda node: True) -> tuple[int, object]:
    """How many levels deep a tree goes and its deepest node (of those that ``counts``, the
    leftmost), found without recursion: it measures trees too deep to recurse over."""
    best, found, stack = 0, None, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > best and counts(node):
            best, found = depth, node
        stack.extend((child, depth + 1) for child in reversed(children_of(node)))
    return best, found


def walk(expr):
    """Every node of an expression tree, parents before children."""
    yield expr
    for child in children(expr):
        yield from walk(child)


def map_expr(expr, fn):
    """Rebuild an expression bottom-up, replacing each node by ``fn(node)``."""
    rebuild = _REBUILD.get(type(expr))
    if rebuild is not None:
        expr = rebuild(expr, lambda e: map_expr(e, fn))
    return fn(expr)


replace = dataclasses.replace


_REBUILD = {
    Call: lambda e, f: replace(e, args=tuple(f(a) for a in e.args)),
    Neg: lambda e, f: replace(e, operand=f(e.operand)),
    Not: lambda e, f: replace(e, operand=f(e.operand)),
    Binary: lambda e, f: replace(e, left=f(e.left), right=f(e.right)),
    Logical: lambda e, f: replace(e, operands=tuple(f(o) for o in e.operands)),
    InList: lambda e, f: replace(e, operand=f(e.operand), items=tuple(f(i) for i in e.items)),
    InRef: lambda e, f: replace(e, operand=f(e.operand), ref=f(e.ref)),
    Between: lambda e, f: replace(e, operand=f(e.operand), low=f(e.low), high=f(e.high)),
    IsNull: lambda e, f: replace(e, operand=f(e.operand)),
    Case: lambda e, f: replace(
        e,
        whens=tuple((f(c), f(v)) for c, v in e.whens),
        default=f(e.default) if e.default is not None else None,
    ),
    Ordered: lambda e, f: replace(e, expr=f(e.expr)),
    Record: lambda e, f: replace(e, items=tuple(replace(item, expr=f(item.expr)) for item in e.items)),
}
