"""A plan as text: numbered bindings (``r1 := Filter[r0] dep_delay > 60``), Graphviz DOT, and
plain English steps (the hint a student gets), phrased from the op and function registries."""

from __future__ import annotations

import json

import networkx as nx

from csvdsl import ast
from csvdsl.format import format_expr, format_transform
from planner.compile import Plan
from planner.functions import FUNCTIONS
from planner.ops import OPS

# ---------------------------------------------------------------- numbered bindings


def _order(plan: Plan) -> list[str]:
    return list(nx.lexicographical_topological_sort(plan.graph, key=lambda n: (len(nx.ancestors(plan.graph, n)), n)))


def _with_names(spec, inputs: tuple[str, ...], names: dict[str, str]):
    """The spec with its input references written as ``rN.col``."""

    def rename(expr):
        if isinstance(expr, ast.InputRef):
            table = names[inputs[expr.index]]
            return ast.TableRef(table) if expr.column is None else ast.Ref(table, expr.column)
        return expr

    from planner.ops import map_exprs

    return map_exprs(spec, lambda e: ast.map_expr(e, rename))


def _step_text(attrs, names) -> str:
    if attrs["op"] == "source":
        return attrs["spec"]
    spec = _with_names(attrs["spec"], attrs["inputs"], names)
    if attrs["op"] == "answer":
        return format_expr(spec.expr)
    if attrs["op"] == "join":  # the right side is already named in the brackets
        keys = format_transform(spec).split(" on ", 1)[1]
        return f"{'left ' if spec.kind == 'left' else ''}on {keys}"
    text = format_transform(spec)
    return text.split(" ", 1)[1] if " " in text else ""


def explain_text(plan: Plan) -> str:
    """One line per node: ``r1 := Filter[r0] dep_delay > 60  # delayed``."""
    return "\n".join(numbered_lines(plan).values())


def short_names(plan: Plan, prefix: str = "r") -> dict[str, str]:
    """``r0``, ``r1``, ... for every node, inputs before the nodes that use them."""
    return {node: f"{prefix}{i}" for i, node in enumerate(_order(plan))}


def numbered_lines(plan: Plan, prefix: str = "r") -> dict[str, str]:
    """Each node's line in the numbered-binding form, in plan order, keyed by node id."""
    names = short_names(plan, prefix)  # in plan order
    lines = {}
    for node in names:
        attrs = plan.node(node)
        inputs = ", ".join(names[i] for i in attrs["inputs"][:2 if attrs["op"] == "join" else 1]) if attrs["op"] != "source" else attrs["spec"]
        if attrs["op"] == "answer":
            inputs = ", ".join(names[i] for i in attrs["inputs"])
        args = "" if attrs["op"] == "source" else _step_text(attrs, names)
        line = f"{names[node]} := {attrs['op'].capitalize()}[{inputs}]" + (f" {args}" if args else "")
        if attrs["bindings"]:
            line += f"  # {', '.join(attrs['bindings'])}"
        lines[node] = line
    return lines


def explain_dot(plan: Plan) -> str:
    """The plan as a Graphviz digraph, inputs above the nodes that use them."""
    names = short_names(plan)  # in plan order
    lines = ["digraph plan {", "  rankdir=TB;", '  node [shape=box, fontname="monospace"];']
    for node in names:
        attrs = plan.node(node)
        label = f"{names[node]} {attrs['op'].capitalize()}"
        args = _step_text(attrs, names)
        if args:
            label += "\\n" + args.replace("\\", "\\\\").replace('"', '\\"')
        if attrs["bindings"]:
            label += "\\n(" + ", ".join(attrs["bindings"]) + ")"
        shape = ', shape=ellipse' if attrs["op"] in ("source", "answer") else ""
        lines.append(f'  {names[node]} [label="{label}"{shape}];')
    for source, target in sorted(plan.graph.edges, key=lambda e: (names[e[1]], names[e[0]])):
        lines.append(f"  {names[source]} -> {names[target]};")
    lines.append("}")
    return "\n".join(lines)


def plan_json(plan: Plan) -> dict:
    """networkx node-link JSON: per node ``id``, ``op``, ``params``, ``inputs``, ``bindings``; plus ``root``."""
    clean = nx.DiGraph()
    for node in _order(plan):
        attrs = plan.node(node)
        clean.add_node(node, op=attrs["op"], params=attrs["params"], inputs=list(attrs["inputs"]), bindings=list(attrs["bindings"]))
    for source, target, data in plan.graph.edges(data=True):
        clean.add_edge(source, target, position=data["position"])
    data = nx.node_link_data(clean, edges="links")
    data["root"] = plan.root
    data["outputs"] = [{"statement": o.statement, "kind": o.kind, "node": o.node} for o in plan.outputs]
    data["bindings"] = dict(plan.bindings)
    return data


def explain_json(plan: Plan) -> str:
    return json.dumps(plan_json(plan), ensure_ascii=False, indent=2)


# ---------------------------------------------------------------- English

_COMPARISONS = {">": "is above", "<": "is below", ">=": "is at least", "<=": "is at most", "==": "is", "!=": "is not"}
_ARITHMETIC = {"+": "plus", "-": "minus", "*": "times", "/": "divided by", "%": "modulo"}


def _words(items: list[str], joiner: str = "and") -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {joiner} {items[-1]}"


class _English:
    """Expressions in words; ``refs`` names a node's inputs (binding name or "step N")."""

    def __init__(self, refs: list[str]):
        self.refs = refs

    def __call__(self, expr, top: bool = False) -> str:
        return getattr(self, "_" + type(expr).__name__.lower())(expr, top)

    def _literal(self, e, top):
        if e.value is None:
            return "missing"
        if isinstance(e.value, bool):
            return "true" if e.value else "false"
        return str(e.value) if not isinstance(e.value, str) else e.value

    def _column(self, e, top):
        return e.name

    def _inputref(self, e, top):
        table = self.refs[e.index]
        return table if e.column is None else f"the {e.column} of {table}"

    def _ref(self, e, top):
        return f"the {e.column} of {e.table}"

    def _tableref(self, e, top):
        return e.name

    def _binary(self, e, top):
        words = _COMPARISONS.get(e.op) or _ARITHMETIC[e.op]
        return f"{self(e.left)} {words} {self(e.right)}"

    def _logical(self, e, top):
        joiner = " and whose " if top and e.op == "and" else f" {e.op} "
        parts = [self(o) for o in e.operands]
        text = joiner.join(parts)
        return text if top or e.op == "and" else f"({text})" if len(parts) > 2 else text

    def _not(self, e, top):
        return f"it is not the case that {self(e.operand)}"

    def _neg(self, e, top):
        return f"minus {self(e.operand)}"

    def _inlist(self, e, top):
        values = _words([self(i) for i in e.items], "or")
        return f"{self(e.operand)} is {'not ' if e.negated else ''}{values}"

    def _inref(self, e, top):
        return f"{self(e.operand)} is {'not ' if e.negated else ''}one of the {e.ref.column} values of {self.refs[e.ref.index]}"

    def _between(self, e, top):
        return f"{self(e.operand)} is {'not ' if e.negated else ''}between {self(e.low)} and {self(e.high)}"

    def _isnull(self, e, top):
        return f"{self(e.operand)} is {'not ' if e.negated else ''}missing"

    def _case(self, e, top):
        parts = [f"{self(v)} when {self(c)}" for c, v in e.whens]
        otherwise = f"; otherwise {self(e.default)}" if e.default is not None else ""
        return "; ".join(parts) + otherwise

    def _ordered(self, e, top):
        return f"{self(e.expr)}, largest first" if e.descending else self(e.expr)

    def _call(self, e, top):
        function = FUNCTIONS[e.name]
        args = [self(a) for a in e.args]
        if e.name == "count" and not args:
            text = "the number of rows"
        else:
            omitted = len(function.params) - len(args)
            filled = args + list(function.defaults[-omitted:] if 0 < omitted <= len(function.defaults) else []) if omitted > 0 else args
            text = function.english.format(*(filled + [""] * len(function.params)))
            if function.variadic:
                text = function.english.format(_words(args))
        if e.over:
            text += f" within each {_words([c.name for c in e.over])}"
        return text


def _subject(plan: Plan, node: str, memo: dict) -> str:
    """What the rows of a node are: the source table's name, or "groups" after a group."""
    if node in memo:
        return memo[node]
    attrs = plan.node(node)
    if attrs["op"] == "source":
        subject = attrs["spec"]
    elif attrs["op"] == "group":
        subject = "groups"
    elif attrs["op"] == "aggregate":
        subject = "totals"
    else:
        subject = _subject(plan, attrs["inputs"][0], memo) if attrs["inputs"] else "rows"
    memo[node] = subject
    return subject


def _item(english, item) -> str:
    if isinstance(item.expr, ast.Column) and item.expr.name == item.name:
        return item.name
    return f"{item.name} as {english(item.expr)}"


def _reference(attrs, step: int) -> str:
    """How a step names another node: its table, its binding, or its step number."""
    if attrs["op"] == "source":
        return attrs["spec"]
    return attrs["bindings"][0] if attrs["bindings"] else f"the result of step {step}"


def _keys(spec, english) -> dict:
    keys = spec.keys
    if isinstance(spec, ast.Sort):
        return {"keys": ", then ".join(f"{k.column.name}{' (largest first)' if k.descending else ''}" for k in keys)}
    if isinstance(spec, ast.Join):
        return {"on": _words([k.left.name if k.left.name == k.right.name else f"{k.left.name} matching {k.right.name}" for k in keys])}
    return {"keys": _words([k.name for k in keys])}


def _columns(spec, english) -> dict:
    columns = _words([c.name for c in spec.columns])
    return {"columns": columns, "distinct": f"distinct values of {columns}" if columns else "distinct rows"}


# Slots read off an AST spec's fields, so each op needs only its phrase template.
_FIELD_SLOTS = {
    "predicate": lambda spec, english: {"predicate": ("for which " if isinstance(spec.predicate, ast.Not) else "whose ")
                                                     + english(spec.predicate, top=True)},
    "items": lambda spec, english: {
        "items": _words([_item(english, i) for i in spec.items]),
        "renames": _words([f"{i.expr.name} to {i.name}" for i in spec.items if isinstance(i.expr, ast.Column)]),
    },
    "columns": _columns,
    "keys": _keys,
    "count": lambda spec, english: {"count": f"{spec.count} rows" if spec.count != 1 else "row"},
    "kind": lambda spec, english: {"table": english.refs[1], "kind": ", keeping the rows that have no match" if spec.kind == "left" else ""},
    "expr": lambda spec, english: {"expr": english(spec.expr)},
}


def _slots(plan: Plan, node: str, steps: dict[str, int], subjects: dict) -> dict:
    """The values a phrase template can use."""
    attrs = plan.node(node)
    spec = attrs["spec"]
    english = _English([_reference(plan.node(i), steps[i]) for i in attrs["inputs"]])
    slots = {"subject": _subject(plan, attrs["inputs"][0], subjects) if attrs["inputs"] else "rows"}
    if attrs["op"] == "source":
        slots["table"] = spec
    if type(spec).__module__ == ast.__name__:
        for name in spec.__dataclass_fields__:
            if name in _FIELD_SLOTS:
                slots.update(_FIELD_SLOTS[name](spec, english))
    return slots


def explain_english(plan: Plan) -> list[str]:
    """One numbered sentence per operation, from the op registry's phrase templates."""
    needed = set(plan.needed())
    order = [n for n in _order(plan) if n in needed or not plan.outputs]
    steps = {node: i for i, node in enumerate(order, start=1)}
    subjects: dict = {}
    lines = []
    for node in order:
        template = OPS[plan.node(node)["op"]].english
        lines.append(f"{steps[node]}. {template.format(**_slots(plan, node, steps, subjects))}")
    return lines
