"""A checked program to a plan: a networkx DAG with one node per operation, whose id is a
hash of (op, canonical params, input ids), so equal sub-plans are one node."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import networkx as nx

from csvdsl import ast
from csvdsl.check import AnswerType, CheckedProgram
from planner.ops import OPS, OPS_BY_NODE


@dataclass(frozen=True)
class Output:
    """A statement whose result is shown or answered, and the node that computes it."""

    statement: int
    kind: str  # "show" | "answer"
    node: str


@dataclass
class Plan:
    """The DAG; ``bindings`` maps each binding name to its node, ``root`` is the answer's node."""

    graph: nx.DiGraph
    outputs: list[Output] = field(default_factory=list)
    bindings: dict[str, str] = field(default_factory=dict)
    root: str | None = None

    def node(self, node_id: str) -> dict:
        return self.graph.nodes[node_id]

    def needed(self) -> list[str]:
        """The nodes the outputs depend on, inputs before the nodes that use them."""
        wanted = set()
        for output in self.outputs:
            wanted |= nx.ancestors(self.graph, output.node) | {output.node}
        return [n for n in nx.lexicographical_topological_sort(self.graph) if n in wanted]


def node_id(op: str, params: dict, inputs: tuple[str, ...]) -> str:
    """A content hash, stable across processes and machines."""
    payload = json.dumps([op, params, list(inputs)], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]


def compile_program(checked: CheckedProgram) -> Plan:
    """Build the plan of a checked program."""
    return _Compiler(checked).run()


class _Compiler:
    def __init__(self, checked: CheckedProgram):
        self.checked = checked
        self.plan = Plan(nx.DiGraph())

    def run(self) -> Plan:
        for index, statement in enumerate(self.checked.program.statements):
            if isinstance(statement, ast.Answer):
                node = self.answer(statement, index)
                self.plan.root = node
                self.plan.outputs.append(Output(index, "answer", node))
                continue
            node = self.pipeline(statement.pipeline, index)
            if isinstance(statement, ast.Binding):
                self.plan.bindings[statement.name] = node
                self.plan.node(node)["bindings"].append(statement.name)
            else:
                self.plan.outputs.append(Output(index, "show", node))
        return self.plan

    def add(self, op: str, spec, inputs: tuple[str, ...], schema, span=None) -> str:
        params = OPS[op].params(spec)
        nid = node_id(op, params, inputs)
        graph = self.plan.graph
        if nid not in graph:
            graph.add_node(nid, op=op, params=params, inputs=inputs, spec=spec, schema=schema, bindings=[], spans=[])
            for position, source in enumerate(inputs):
                graph.add_edge(source, nid, position=position)
        if span is not None:
            graph.nodes[nid]["spans"].append(span)
        return nid

    def table(self, ref: ast.TableRef) -> str:
        if ref.name in self.plan.bindings:
            return self.plan.bindings[ref.name]
        return self.add("source", ref.name, (), self.checked.tables[ref.name], ref.span)

    def pipeline(self, pipeline: ast.Pipeline, index: int) -> str:
        current = self.table(pipeline.source)
        for step, transform in enumerate(pipeline.transforms, start=1):
            inputs = [current]
            if isinstance(transform, ast.Join):
                inputs.append(self.table(transform.table))
            spec = self.resolve(transform, inputs)
            current = self.add(OPS_BY_NODE[type(transform)].name, spec, tuple(inputs), self.checked.steps[(index, step)], transform.span)
        return current

    def answer(self, statement: ast.Answer, index: int) -> str:
        inputs: list[str] = []
        spec = self.resolve(statement, inputs)
        return self.add("answer", spec, tuple(inputs), self.checked.statement_types[index], statement.span)

    def resolve(self, node, inputs: list[str]):
        """Replace ``t.col`` and whole-table names by references to the node's inputs."""

        def input_index(name: str) -> int:
            nid = self.table(ast.TableRef(name))
            if nid not in inputs:
                inputs.append(nid)
            return inputs.index(nid)

        def swap(expr):
            if isinstance(expr, ast.Ref):
                return ast.InputRef(input_index(expr.table), expr.column, span=expr.span)
            if isinstance(expr, ast.TableRef):
                return ast.InputRef(input_index(expr.name), None, span=expr.span)
            return expr

        return _map_transform_exprs(node, lambda e: ast.map_expr(e, swap))


def _map_transform_exprs(node, fn):
    """Apply ``fn`` to every expression a transform or answer holds."""
    replace = ast._replace
    if isinstance(node, ast.Filter):
        return replace(node, predicate=fn(node.predicate))
    if isinstance(node, ast.Answer):
        return replace(node, expr=fn(node.expr))
    if isinstance(node, (ast.Select, ast.Derive, ast.Group, ast.Aggregate)):
        return replace(node, items=tuple(replace(i, expr=fn(i.expr)) for i in node.items))
    return node
