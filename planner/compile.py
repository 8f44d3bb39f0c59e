"""A checked program to a plan: a networkx DAG with one node per operation, whose id is a
hash of (op, canonical params, input ids), so equal sub-plans are one node."""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from csvdsl import ast
from csvdsl.check import CheckedProgram
from planner.node import PlanNode, inputs_first, node_id
from planner.ops import OPS_BY_NODE, map_exprs

__all__ = ["Output", "Plan", "compile_program", "node_id"]


@dataclass(frozen=True)
class Output:
    """A statement whose result is shown or answered, and the node that computes it."""

    statement: int
    kind: str  # "show" | "answer"
    node: str
    schema: object = None  # the statement's type as written (column order included)


@dataclass
class Plan:
    """The DAG; ``bindings`` maps each binding name to its node, ``root`` is the answer's node."""

    graph: nx.DiGraph
    outputs: list[Output] = field(default_factory=list)
    bindings: dict[str, str] = field(default_factory=dict)
    root: str | None = None
    _order: tuple = field(default=(None, 0, ()), repr=False, compare=False)  # (graph, its size, its nodes inputs first)

    def node(self, node_id: str) -> dict:
        return self.graph.nodes[node_id]

    def needed(self, outputs: list[Output] | None = None) -> list[str]:
        """The nodes the outputs depend on, inputs before the nodes that use them."""
        wanted = set()
        for output in self.outputs if outputs is None else outputs:
            if output.node is not None and output.node not in wanted:
                wanted |= nx.ancestors(self.graph, output.node) | {output.node}
        # The order is the graph's, found once: a plan is run on many tables (the variants).
        graph, size, order = self._order
        if graph is not self.graph or size != self.graph.number_of_nodes():
            order = tuple(nx.lexicographical_topological_sort(self.graph))
            self._order = (self.graph, len(order), order)
        return [n for n in order if n in wanted]


def node_span(attrs: dict):
    """Where a node's step was written (the first of its statements' spans), if anywhere."""
    return attrs["spans"][0] if attrs.get("spans") else None


def compile_program(checked: CheckedProgram, canonical: bool = True) -> Plan:
    """Build the plan of a checked program, canonicalized unless ``canonical`` is False."""
    compiler = _Compiler(checked)
    compiler.run()
    bindings, outputs = compiler.bindings, compiler.outputs
    if canonical:
        from planner.canon import canonicalize

        memo: dict = {}
        bindings = {name: canonicalize(node, memo) for name, node in bindings.items()}
        outputs = [(index, kind, canonicalize(node, memo) if node is not None else None, schema)
                   for index, kind, node, schema in outputs]
    return _materialize(bindings, outputs)


def _materialize(bindings: dict[str, PlanNode], outputs: list) -> Plan:
    plan = Plan(nx.DiGraph())

    def add(node: PlanNode) -> str:
        graph = plan.graph
        for top in inputs_first(node, lambda n: n.inputs, lambda n: n.id in graph):
            graph.add_node(top.id, op=top.op, params=top.params, inputs=tuple(i.id for i in top.inputs),
                           spec=top.spec, schema=top.schema, bindings=[], spans=list(top.spans))
            for position, source in enumerate(top.inputs):
                graph.add_edge(source.id, top.id, position=position)
        return node.id

    for name, node in bindings.items():
        plan.bindings[name] = add(node)
        plan.graph.nodes[node.id]["bindings"].append(name)
    for index, kind, node, schema in outputs:
        plan.outputs.append(Output(index, kind, add(node) if node is not None else None, schema))
        if kind == "answer":
            plan.root = node.id
    return plan


def _join_clashes(left, right, spec) -> bool:
    keys = {k.right.name for k in getattr(spec, "keys", ())}
    return any(name in left.names for name in right.names if name not in keys)


class _Compiler:
    def __init__(self, checked: CheckedProgram):
        self.checked = checked
        self.bindings: dict[str, PlanNode] = {}
        self.outputs: list[tuple] = []  # (statement, kind, node, type as written)

    def run(self) -> None:
        for index, statement in enumerate(self.checked.program.statements):
            if isinstance(statement, ast.Describe):
                source = self.table(statement.table)
                node = PlanNode("describe", source.schema, (source,), self.checked.statement_types[index], (statement.span,))
                self.outputs.append((index, "describe", node, node.schema))
                continue
            if isinstance(statement, ast.ListTables):
                self.outputs.append((index, "tables", None, self.checked.statement_types[index]))
                continue
            if isinstance(statement, ast.Answer):
                inputs: list[PlanNode] = []
                spec = self.resolve(statement, inputs)
                node = PlanNode("answer", spec, tuple(inputs), self.checked.statement_types[index], (statement.span,))
                self.outputs.append((index, "answer", node, node.schema))
                continue
            node = self.pipeline(statement.pipeline, index)
            if isinstance(statement, ast.Binding):
                self.bindings[statement.name] = node
            else:
                self.outputs.append((index, "show", node, node.schema))

    def table(self, ref: ast.TableRef) -> PlanNode:
        if ref.name in self.bindings:
            return self.bindings[ref.name]
        return PlanNode("source", ref.name, (), self.checked.tables[ref.name], (ref.span,))

    def pipeline(self, pipeline: ast.Pipeline, index: int) -> PlanNode:
        current = self.table(pipeline.source)
        for step, transform in enumerate(pipeline.transforms, start=1):
            inputs = [current]
            if isinstance(transform, (ast.Join, ast.CrossJoin)):
                inputs.append(self.table(transform.table))
            spec = self.resolve(transform, inputs)
            if isinstance(spec, (ast.Join, ast.CrossJoin)) and not _join_clashes(current.schema, inputs[1].schema, spec):
                spec = ast.replace(spec, table=ast.TableRef("", span=spec.table.span))
            op = OPS_BY_NODE[type(transform)].name
            current = PlanNode(op, spec, tuple(inputs), self.checked.steps[(index, step)], (transform.span,))
        return current

    def resolve(self, node, inputs: list[PlanNode]):
        """Replace ``t.col`` and whole-table names by references to the node's inputs."""

        def input_index(name: str) -> int:
            source = self.table(ast.TableRef(name))
            if source not in inputs:
                inputs.append(source)
            return inputs.index(source)

        def swap(expr):
            if isinstance(expr, ast.Ref):
                return ast.InputRef(input_index(expr.table), expr.column, span=expr.span)
            if isinstance(expr, ast.TableRef):
                return ast.InputRef(input_index(expr.name), None, span=expr.span)
            return expr

        return map_exprs(node, lambda e: ast.map_expr(e, swap))
