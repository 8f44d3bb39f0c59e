"""Which nodes of a plan must keep pandas' row order in SQL (their ``__rn`` column).

Row order costs a ``row_number()`` window, which reads the whole input, after a group, sort,
join, split or distinct. It is worth paying only where something reads it: a take, an
order-dependent function (row_number, lag, lead, cumsum, pct_change, first, last), a sort
whose keys can tie, or the caller (a fetched table, the first row an answer reads). This
module finds those nodes; elsewhere the translation writes a null ``__rn`` instead."""

from __future__ import annotations

from collections.abc import Iterable

from csvdsl import ast
from planner.compile import Plan
from planner.node import inputs_first
from planner.ops import spec_exprs

# The functions whose values depend on the rows' order (planner/sql.py reads __rn for them;
# a test holds the two lists together). rank and dense_rank give ties one value: not here.
ORDER_SENSITIVE = frozenset({"row_number", "cumsum", "lag", "lead", "pct_change", "first", "last"})


class _Facts:
    """What the plan says statically about a node's rows: at most how many, and which column
    sets are unique (no two rows agree on all of them), memoized per node."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self._bounds: dict[str, int | None] = {}
        self._unique: dict[str, tuple[frozenset, ...]] = {}

    def bound(self, nid: str) -> int | None:
        return self._known(self._bounds, nid, self._bound)

    def unique(self, nid: str) -> tuple[frozenset, ...]:
        return self._known(self._unique, nid, self._unique_sets)

    def _known(self, memo: dict, nid: str, compute):
        """``memo[nid]``, computed first for the node's ancestors in order, so each step reads
        its inputs' facts from ``memo``: a chain of thousands of steps never recurses deeply."""
        for node in inputs_first(nid, lambda n: self.plan.node(n)["inputs"], memo.__contains__):
            memo[node] = compute(node)
        return memo[nid]

    def _bound(self, nid: str) -> int | None:
        attrs = self.plan.node(nid)
        return _BOUNDS.get(attrs["op"], lambda f, a: None)(self, attrs)

    def _unique_sets(self, nid: str) -> tuple[frozenset, ...]:
        bound = self.bound(nid)
        if bound is not None and bound <= 1:
            return (frozenset(),)  # one row or none: any columns, even none, are unique
        attrs = self.plan.node(nid)
        return tuple(_UNIQUE.get(attrs["op"], lambda f, a: ())(self, attrs))

    def total(self, source: str, keys) -> bool:
        """Whether ordering ``source`` by ``keys`` leaves no ties (so its prior order is not read)."""
        names = {k.column.name for k in keys}
        return any(unique <= names for unique in self.unique(source))


def _product(*bounds):
    result = 1
    for bound in bounds:
        if bound is None:
            return None
        result *= bound
    return result


def _take_bound(facts, attrs):
    inner = facts.bound(attrs["inputs"][0])
    return attrs["spec"].count if inner is None else min(inner, attrs["spec"].count)


def _join_bound(facts, attrs):
    left, right = (facts.bound(i) for i in attrs["inputs"][:2])
    if attrs["spec"].kind == "left" and right is not None:
        right = max(right, 1)  # a left row without a match stays, once
    return _product(left, right)


_SAME_ROWS = ("filter", "derive", "select", "drop", "rename", "sort", "distinct", "group")
_BOUNDS = {
    **{op: (lambda facts, attrs: facts.bound(attrs["inputs"][0])) for op in _SAME_ROWS},
    "aggregate": lambda facts, attrs: 1,
    "take": _take_bound,
    "join": _join_bound,
    "cross_join": lambda facts, attrs: _product(*(facts.bound(i) for i in attrs["inputs"][:2])),
}


def _kept(facts, attrs, keep) -> tuple[frozenset, ...]:
    """The input's unique sets that survive, each column renamed by ``keep`` (None: lost)."""
    survivors = []
    for unique in facts.unique(attrs["inputs"][0]):
        names = [keep(name) for name in unique]
        if None not in names:
            survivors.append(frozenset(names))
    return tuple(survivors)


def _selected(facts, attrs):
    # A column stays itself only as an item `c = c` read from the input (items are sequential).
    plain = {item.name for item in attrs["spec"].items if isinstance(item.expr, ast.Column) and item.expr.name == item.name}
    return _kept(facts, attrs, lambda name: name if name in plain else None)


def _derived(facts, attrs):
    changed = {item.name for item in attrs["spec"].items}
    return _kept(facts, attrs, lambda name: None if name in changed else name)


def _renamed(facts, attrs):
    names = {item.expr.name: item.name for item in attrs["spec"].items}
    return _kept(facts, attrs, lambda name: names.get(name, name))


def _dropped(facts, attrs):
    gone = {c.name for c in attrs["spec"].columns}
    return _kept(facts, attrs, lambda name: None if name in gone else name)


def _distinct_sets(facts, attrs):
    columns = attrs["spec"].columns
    return (frozenset(c.name for c in columns) if columns else frozenset(attrs["schema"].names),)


_UNIQUE = {
    "filter": lambda facts, attrs: facts.unique(attrs["inputs"][0]),
    "sort": lambda facts, attrs: facts.unique(attrs["inputs"][0]),
    "take": lambda facts, attrs: facts.unique(attrs["inputs"][0]),
    "select": _selected,
    "derive": _derived,
    "rename": _renamed,
    "drop": _dropped,
    "group": lambda facts, attrs: (frozenset(k.name for k in attrs["spec"].keys),),
    "distinct": _distinct_sets,
}


# ---------------------------------------------------------------- what each node reads


def _sensitive(spec) -> bool:
    return any(isinstance(e, ast.Call) and e.name in ORDER_SENSITIVE for expr in spec_exprs(spec) for e in ast.walk(expr))


def _first_rows(facts, attrs) -> set[str]:
    """Inputs an expression reads the first row of (``t.col``), or whole (``t``); membership
    (``x in t.col``) reads no order."""
    found, members = set(), set()
    for expr in spec_exprs(attrs["spec"]):
        for e in ast.walk(expr):
            if isinstance(e, ast.InRef):
                members.add(id(e.ref))
            elif isinstance(e, ast.InputRef) and id(e) not in members:
                source = attrs["inputs"][e.index]
                bound = facts.bound(source)
                if e.column is None or bound is None or bound > 1:
                    found.add(source)
    return found


def _rowwise(facts, attrs, ordered):
    """filter, derive, select, drop, rename, distinct, split: the output keeps the input's order."""
    main = {attrs["inputs"][0]} if ordered or _sensitive(attrs["spec"]) else set()
    return main | _first_rows(facts, attrs)


def _grouping(facts, attrs, ordered):
    """group and aggregate: their own order is by key (or one row); only first/last read the input's."""
    main = {attrs["inputs"][0]} if _sensitive(attrs["spec"]) else set()
    return main | _first_rows(facts, attrs)


def _sorting(facts, attrs, ordered):
    source = attrs["inputs"][0]
    return {source} if ordered and not facts.total(source, attrs["spec"].keys) else set()


def sort_ties(plan: Plan, attrs) -> bool:
    """Whether a sort's keys may tie on its input, so that ties go by the input's order."""
    return not _Facts(plan).total(attrs["inputs"][0], attrs["spec"].keys)


def top_of_sort(plan: Plan, attrs) -> dict | None:
    """A take's sort, when the take reads it (the take then orders the sort's input itself: a
    top-N in SQL, not a window over every row)."""
    source = plan.node(attrs["inputs"][0])
    return source if source["op"] == "sort" else None


def _taking(facts, attrs, ordered):
    sort = top_of_sort(facts.plan, attrs)
    if sort is None:
        return {attrs["inputs"][0]}
    return _sorting(facts, sort, True)


_READS = {
    "filter": _rowwise, "derive": _rowwise, "select": _rowwise, "drop": _rowwise, "rename": _rowwise,
    "distinct": _rowwise, "split": _rowwise,
    "group": _grouping, "aggregate": _grouping,
    "sort": _sorting,
    "take": _taking,
    "join": lambda facts, attrs, ordered: set(attrs["inputs"]) if ordered else set(),
    "cross_join": lambda facts, attrs, ordered: set(attrs["inputs"]) if ordered else set(),
    "source": lambda facts, attrs, ordered: set(),
    "answer": lambda facts, attrs, ordered: _first_rows(facts, attrs),
}


def ordered_nodes(plan: Plan, roots: Iterable[str]) -> frozenset[str]:
    """The nodes whose ``__rn`` must be pandas' row order so that ``roots`` come out in order
    (the roots included); any other node may leave ``__rn`` null."""
    import networkx as nx

    roots = set(roots)
    ancestors = set(roots)
    for root in roots:
        ancestors |= nx.ancestors(plan.graph, root)
    facts = _Facts(plan)
    # A root of one row (or none) comes out in order whatever its __rn.
    ordered = {root for root in roots if facts.bound(root) is None or facts.bound(root) > 1}
    # Consumers first: a node's needs are known once every node reading it was seen.
    for nid in reversed(list(nx.topological_sort(plan.graph.subgraph(ancestors)))):
        attrs = plan.node(nid)
        reads = _READS.get(attrs["op"], lambda facts, attrs, ordered: set(attrs["inputs"]))  # describe: all
        ordered |= reads(facts, attrs, nid in ordered)
    return frozenset(ordered)


def row_bound(plan: Plan, nid: str) -> int | None:
    """At most how many rows ``nid`` has, as far as the plan says (None: unknown)."""
    return _Facts(plan).bound(nid)
