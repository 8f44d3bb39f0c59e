"""A plan as text: numbered bindings (``r1 := Filter[r0] dep_delay > 60``), Graphviz DOT, and
plain English steps (the hint a student gets), phrased from the op and function registries."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

import networkx as nx

from csvdsl import ast
from csvdsl.format import format_expr, format_transform
from planner.compile import Plan
from planner.functions import FUNCTIONS
from planner.node import inputs_first
from planner.ops import OPS, map_exprs
from planner.words import entity, number_text, plural, spoken

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

    return map_exprs(spec, lambda e: ast.map_expr(e, rename))


def _step_text(attrs, names) -> str:
    if attrs["op"] == "source":
        return attrs["spec"]
    spec = _with_names(attrs["spec"], attrs["inputs"], names)
    if attrs["op"] == "answer":
        return format_expr(spec.expr)
    if attrs["op"] == "cross_join":  # the right side is already named in the brackets
        return "cross"
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
        inputs = ", ".join(names[i] for i in attrs["inputs"][:2 if OPS[attrs["op"]].pairs else 1]) if attrs["op"] != "source" else attrs["spec"]
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
#
# Each node's result is described by what it holds ("the penguins whose year is 2007", "the
# average body mass (g) of ..."), so a step never names a binding or a generated column.
# Steps go in dependency order with each branch kept together; a step that continues from
# the one before says "those", any other names its input in full.

_COMPARISONS = {">": "is above", "<": "is below", ">=": "is at least", "<=": "is at most", "==": "is", "!=": "is not"}
_ARITHMETIC = {"+": "plus", "-": "minus", "*": "times", "/": "divided by", "%": "modulo"}


def _words(items: list[str], joiner: str = "and") -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {joiner} {items[-1]}"


def _bare(rows: str) -> str:
    return rows[4:] if rows.startswith("the ") else rows


@dataclass(frozen=True)
class _Result:
    """What a node's result holds, in words."""

    rows: str  # the rows, in full: "the flights whose origin is JFK"
    noun: str  # what one row is, plural: "flights", "carriers"
    columns: dict  # column -> its values in words: "departure delay", "the number of flights"
    single: bool = False  # one row: a column is one value
    source: bool = False
    key: str | None = None  # the column whose values name the rows (a group's key)
    one: str = "row"  # one row, singular: "carrier"
    table: str | None = None  # a source's table name


_LINKS = re.compile(r"(?:^|\b(?:of|by|to|from|and|between|against|across|in|with|on|at))\s*$")


def _after_words(template: str, index: int, phrase: str) -> str:
    """``phrase`` as argument ``index`` of ``template``: "the total {0}" of "the total x" reads
    "the total of the total x", not "the total the total x"."""
    before = template.split("{%d}" % index, 1)[0]
    if phrase.startswith("the ") and before.strip() and not _LINKS.search(before.rstrip()):
        return f"of {phrase}"
    return phrase


class _English:
    """Expressions in words, in the scope of one node: its main input's columns and its inputs."""

    def __init__(self, inputs: list[_Result]):
        self.inputs = inputs
        self.columns = inputs[0].columns if inputs else {}

    def __call__(self, expr) -> str:
        return getattr(self, "_" + type(expr).__name__.lower())(expr)

    def _literal(self, e):
        if e.value is None:
            return "missing"
        if isinstance(e.value, bool):
            return "true" if e.value else "false"
        if isinstance(e.value, (int, float)):
            return number_text(e.value)
        return str(e.value) if e.value != "" else "the empty text"  # else a gap in the sentence

    def _column(self, e):
        return self.columns.get(e.name, spoken(e.name))

    def _inputref(self, e):
        result = self.inputs[e.index]
        near = result.rows.startswith("those ")  # the step just before: "those carriers"
        if e.column is None:
            return result.rows
        if near and e.column == result.key:
            return f"that {result.one}" if result.single else result.rows
        values = result.columns.get(e.column, spoken(e.column))
        if result.single:  # a total's phrase says what it is of already
            return values if not near or result.noun == "totals" else f"the {_bare(values)} of that {result.one}"
        return f"the {_bare(values)} of {result.rows}" if near else f"the {_bare(values)} values of {result.rows}"

    def _ref(self, e):
        return f"the {spoken(e.column)} of {e.table}"

    def _tableref(self, e):
        return e.name

    def _binary(self, e):
        words = _COMPARISONS.get(e.op) or _ARITHMETIC[e.op]
        return f"{self(e.left)} {words} {self(e.right)}"

    def _logical(self, e):
        parts = [self(o) for o in e.operands]
        text = f" {e.op} ".join(parts)
        return f"({text})" if e.op == "or" and len(parts) > 2 else text

    def _not(self, e):
        return f"it is not the case that {self(e.operand)}"

    def _neg(self, e):
        return f"minus {self(e.operand)}"

    def _inlist(self, e):
        return f"{self(e.operand)} is {'not ' if e.negated else ''}{_words([self(i) for i in e.items], 'or')}"

    def _inref(self, e):
        values = self.inputs[e.ref.index].columns.get(e.ref.column, spoken(e.ref.column))
        return f"{self(e.operand)} is {'not ' if e.negated else ''}one of the {_bare(values)} values of {self.inputs[e.ref.index].rows}"

    def _between(self, e):
        return f"{self(e.operand)} is {'not ' if e.negated else ''}between {self(e.low)} and {self(e.high)}"

    def _isnull(self, e):
        return f"{self(e.operand)} is {'not ' if e.negated else ''}missing"

    def _case(self, e):
        parts = [f"{self(v)} when {self(c)}" for c, v in e.whens]
        otherwise = f"; otherwise {self(e.default)}" if e.default is not None else ""
        return "; ".join(parts) + otherwise

    def _ordered(self, e):
        return f"{self(e.expr)} (largest first)" if e.descending else self(e.expr)

    def _call(self, e):
        function = FUNCTIONS[e.name]
        args = [self(a) for a in e.args]
        if e.name == "count":
            noun = self.inputs[0].noun if self.inputs else "rows"
            text = f"the number of {noun}" if not args else f"the number of known {_bare(args[0])} values"
        elif function.variadic:
            text = function.english.format(_words(args))
        else:
            omitted = len(function.params) - len(args)
            filled = args + list(function.defaults[-omitted:] if 0 < omitted <= len(function.defaults) else []) if omitted > 0 else args
            text = function.english.format(*(_after_words(function.english, i, a) for i, a in enumerate(filled + [""] * len(function.params))))
            text = text.replace(" to 1 decimal places", " to 1 decimal place")
        if e.over:
            text += f" within each {_words([self._column(c) for c in e.over])}"
        elif e.window:  # an aggregate over the whole table, on every row
            text += " over all rows"
        return text

    def _record(self, e):
        return _words([f"{spoken(item.name)}: {self(item.expr)}" for item in e.items])


def condition(english: _English, predicate) -> str:
    """A filter's condition as a relative clause: "whose origin is JFK and whose ..."."""
    if isinstance(predicate, ast.Not):
        return f"for which {english(predicate)}"
    parts = predicate.operands if isinstance(predicate, ast.Logical) and predicate.op == "and" else (predicate,)
    clauses = []
    for part in parts:
        text = english(part)
        clauses.append(f"where {text}" if text.startswith(("the ", "(", "it ", "minus ")) else f"whose {text}")
    return " and ".join(clauses)


def _aggregates(items, english: _English, rows: str | None):
    """Each item's phrase (``rows`` added for a whole-table aggregate) and the step's wording."""
    phrases = {}
    for item in items:
        text = english(item.expr)
        if rows is not None:
            counted = isinstance(item.expr, ast.Call) and item.expr.name == "count" and not item.expr.args
            text = f"the number of {_bare(rows)}" if counted else f"{text} of {rows}"
        phrases[item.name] = text
    return phrases


def _source_result(table: str, schema) -> _Result:
    noun = entity(table)
    return _Result(f"the {noun}", noun, {c: spoken(c) for c in schema}, source=True, table=table)


def _describe_node(plan: Plan, node: str, results: dict, continuing: bool) -> tuple[_Result, dict]:
    """The node's result in words, and the slots its step's phrase can use; a step that
    continues from the one before calls its input "those ..." (sources stay "the ...")."""
    attrs = plan.node(node)
    op, spec = attrs["op"], attrs["spec"]
    if op == "source":
        schema = attrs.get("schema")
        return _source_result(spec, schema.names if schema is not None else ()), {"table": spec}
    inputs = [results[i] for i in attrs["inputs"]]
    if not inputs:  # an answer computed from literals alone
        return _Result("no rows", "rows", {}), {"expr": f"with {_English([])(spec.expr)}"}
    main = inputs[0]
    near = replace(main, rows=f"those {main.noun}") if continuing and not main.source else main
    english = _English([near, *inputs[1:]])
    slots: dict = {"subject": near.rows, "from": "" if continuing else f"from {main.rows}, ",
                   "them": f"the {main.noun}" if continuing else "those"}
    result = main
    if op == "filter":
        clause = condition(_English(inputs), spec.predicate)
        slots["predicate"] = clause
        result = replace(main, rows=f"the {main.noun} {clause}" if main.source else f"{main.rows}, {clause}", source=False)
    elif op in ("derive", "select"):
        columns = dict(main.columns) if op == "derive" else {}
        scope = _English(inputs)
        for item in spec.items:
            scope.columns = {**main.columns, **columns}
            columns[item.name] = scope(item.expr)
        slots["items"] = _words([columns[i.name] for i in spec.items])
        result = replace(main, columns=columns, source=False)
    elif op == "drop":
        slots["columns"] = _words([main.columns.get(c.name, spoken(c.name)) for c in spec.columns])
        result = replace(main, columns={k: v for k, v in main.columns.items() if k not in {c.name for c in spec.columns}})
    elif op == "rename":
        renames = {i.expr.name: i.name for i in spec.items}
        slots["renames"] = _words([f"{main.columns.get(old, spoken(old))} to {spoken(new)}" for old, new in renames.items()])
        result = replace(main, columns={renames.get(k, k): (spoken(renames[k]) if k in renames else v) for k, v in main.columns.items()})
    elif op == "group":
        keys = [_bare(main.columns.get(k.name, spoken(k.name))) for k in spec.keys]
        phrases = _aggregates(spec.items, english, None)
        noun = (plural(keys[0]) if " of " not in keys[0] else f"{keys[0]} values") if len(keys) == 1 \
            else f"combinations of {_words(keys)}"
        each = [f"{k} value" if k.endswith(("s", ")")) else k for k in keys]
        slots.update(keys=_words(each), items=_words(list(phrases.values())),
                     among="" if main.source else f" among {near.rows}")
        among = "" if main.source else f" among {main.rows}"
        result = _Result(f"the {noun}{among}", noun, {**{k.name: key for k, key in zip(spec.keys, keys)}, **phrases},
                         key=spec.keys[0].name if len(keys) == 1 else None, one=each[0] if len(keys) == 1 else "combination")
    elif op == "aggregate":
        if len(spec.items) == 1:
            slots.update(over="", items=_words(list(_aggregates(spec.items, english, near.rows).values())))
        else:
            slots.update(over=f"over {near.rows}, ", items=_words(list(_aggregates(spec.items, english, None).values())))
        phrases = _aggregates(spec.items, _English(inputs), main.rows)
        result = _Result(f"the totals over {main.rows}", "totals", phrases, single=True, one="total")
    elif op == "sort":
        keys = [english(k.column) + (" (largest first)" if k.descending else "") for k in spec.keys]
        slots["keys"] = ", then by ".join(keys)
        result = replace(main, rows=f"{main.rows}, sorted by {slots['keys']}" if not main.single else main.rows, source=False)
    elif op == "take":
        slots["count"] = main.one if spec.count == 1 else f"{number_text(spec.count)} {main.noun}"
        result = replace(main, rows=f"the first {slots['count']} of {main.rows}", single=spec.count == 1, source=False)
    elif op == "distinct":
        columns = _words([main.columns.get(c.name, spoken(c.name)) for c in spec.columns])
        slots["distinct"] = f"distinct values of {columns}" if columns else "distinct rows"
        result = replace(main, source=False)
    elif OPS[op].pairs:
        right = inputs[1]
        slots["table"] = right.table or right.rows
        if op == "join":
            keys = [k.left.name if k.left.name == k.right.name else f"{k.left.name} matching {k.right.name}" for k in spec.keys]
            slots.update(on=_words([spoken(k) for k in keys]),
                         kind=", keeping the rows that have no match" if spec.kind == "left" else "")
        extra = {c: v for c, v in right.columns.items() if c not in main.columns}
        result = replace(main, columns={**main.columns, **extra}, source=False, table=None)
    elif op == "split":
        separator = {" ": "space", ",": "comma", "\n": "line break", "\t": "tab"}.get(spec.separator, f'"{spec.separator}"')
        slots.update(column=main.columns.get(spec.column.name, spoken(spec.column.name)), separator=separator)
        result = replace(main, source=False)
    elif op == "answer":
        text = english(spec.expr)
        whether = isinstance(spec.expr, (ast.Binary, ast.Logical, ast.Not, ast.InList, ast.InRef, ast.Between, ast.IsNull)) \
            and (not isinstance(spec.expr, ast.Binary) or spec.expr.op in _COMPARISONS)
        slots["expr"] = f"whether {text}" if whether else f"with {text}"
    return result, slots


def _step_order(plan: Plan) -> list[str]:
    """Dependency order, each input's whole branch before the next input's: a comparison's two
    sides read one after the other, not interleaved."""
    needed = set(plan.needed())
    roots = [o.node for o in plan.outputs] or [n for n in _order(plan) if plan.graph.out_degree(n) == 0]
    order: list[str] = []
    seen: set[str] = set()
    for root in roots:
        for node in inputs_first(root, lambda n: plan.node(n)["inputs"], seen.__contains__):
            seen.add(node)
            order.append(node)
    return [n for n in order if n in needed or not plan.outputs]


def _joined_only(plan: Plan, node: str) -> bool:
    """A source read only as a join's right side: the join's sentence names it."""
    attrs = plan.node(node)
    uses = [OPS[plan.node(t)["op"]].pairs and plan.node(t)["inputs"].index(node) == 1 for t in plan.graph.successors(node)]
    return attrs["op"] == "source" and bool(uses) and all(uses)


def explain_english(plan: Plan) -> list[str]:
    """One numbered sentence per operation, from the op registry's phrase templates, each
    naming intermediate results by what they hold; a sentence said already is not repeated."""
    results: dict[str, _Result] = {}
    sentences: list[str] = []
    previous = None
    for node in _step_order(plan):
        attrs = plan.node(node)
        continuing = bool(attrs["inputs"]) and attrs["inputs"][0] == previous
        result, slots = _describe_node(plan, node, results, continuing)
        results[node] = result
        if _joined_only(plan, node):
            continue
        sentence = _sentence(attrs["op"], slots)
        if sentence in sentences and continuing:
            # Said already of other rows: name this step's input in full instead.
            sentence = _sentence(attrs["op"], _describe_node(plan, node, results, False)[1])
        if sentence not in sentences:
            sentences.append(sentence)
        previous = node
    return [f"{i}. {sentence}" for i, sentence in enumerate(sentences, start=1)]


def _sentence(op: str, slots: dict) -> str:
    text = OPS[op].english.format(**slots)
    return text[:1].upper() + text[1:]
