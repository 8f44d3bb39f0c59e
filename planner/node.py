"""Plan nodes: an operation, its spec and its input nodes, identified by a content hash of
(op, canonical params, input ids) that is stable across processes and machines."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from planner.ops import OPS

N = TypeVar("N")


def node_id(op: str, params: dict, inputs: tuple[str, ...]) -> str:
    """A content hash; never Python's ``hash()``, which changes from process to process."""
    payload = json.dumps([op, params, list(inputs)], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]


def inputs_first(root: N, inputs_of: Callable[[N], Iterable[N]], done: Callable[[N], bool]) -> Iterator[N]:
    """The nodes ``root`` depends on (itself last) that are not ``done``, each after its inputs and
    the first input's branch before the next; the caller makes a yielded node ``done`` before
    the next is asked for. Iterative: a chain of bindings can be thousands deep."""
    stack = [root]
    while stack:
        top = stack[-1]
        if done(top):
            stack.pop()
            continue
        pending = [i for i in inputs_of(top) if not done(i)]
        if pending:
            stack.extend(reversed(pending))
            continue
        stack.pop()
        yield top


class PlanNode:
    """An immutable plan node; two nodes are equal when their ids are."""

    __slots__ = ("op", "spec", "inputs", "schema", "spans", "params", "id")

    def __init__(self, op: str, spec, inputs: tuple["PlanNode", ...] = (), schema=None, spans: tuple = ()):
        params = OPS[op].params(spec)
        for name, value in (("op", op), ("spec", spec), ("inputs", tuple(inputs)), ("schema", schema),
                            ("spans", tuple(spans)), ("params", params),
                            ("id", node_id(op, params, tuple(i.id for i in inputs)))):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError("plan nodes are immutable; use .replace()")

    def replace(self, **changes) -> "PlanNode":
        fields = {"op": self.op, "spec": self.spec, "inputs": self.inputs, "schema": self.schema, "spans": self.spans}
        fields.update(changes)
        return PlanNode(**fields)

    def __eq__(self, other):
        return isinstance(other, PlanNode) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"PlanNode({self.op}, {self.id[:8]}, {self.params})"
