"""Loose plan comparison: exact match of canonical roots, a similarity in [0, 1] from matched
operations and edges, and an edit script (keep / update / insert / remove) in the numbered
form. Matching is greedy and quadratic, so plans of 50 nodes compare in milliseconds."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field

from planner.compile import Plan
from planner.explain import numbered_lines

NODE_WEIGHT = 0.7  # the rest is for edges


@dataclass
class StructureMatch:
    """How the student's plan relates to the teacher's, node by node."""

    exact: bool
    similarity: float
    node_f1: float
    edge_f1: float
    matches: dict[str, tuple[str, float]] = field(default_factory=dict)  # teacher id -> (student id, credit)
    edit_script: str = ""


def _params_text(attrs) -> str:
    return json.dumps(attrs["params"], sort_keys=True, ensure_ascii=False)


def param_similarity(a: dict, b: dict) -> float:
    """How alike two nodes' parameters are, in [0, 1]."""
    if a["params"] == b["params"]:
        return 1.0
    return difflib.SequenceMatcher(None, _params_text(a), _params_text(b), autojunk=False).ratio()


def _nodes(plan: Plan) -> list[str]:
    return plan.needed()


def compare_plans(teacher: Plan, student: Plan, script: bool = True) -> StructureMatch:
    """Match the student's operations to the teacher's and score the overlap (and write the
    edit script, unless ``script`` is False: the reward needs the score alone)."""
    ours, theirs = _nodes(teacher), _nodes(student)
    our_set, their_set = set(ours), set(theirs)
    exact = teacher.root is not None and teacher.root == student.root
    matches: dict[str, tuple[str, float]] = {}
    taken: set[str] = set()
    for node in ours:  # identical sub-plans first: equal ids are equal computations
        if node in their_set:
            matches[node] = (node, 1.0)
            taken.add(node)
    for node in ours:
        if node in matches:
            continue
        attrs = teacher.node(node)
        best, best_score, best_credit = None, 0.0, 0.0
        for candidate in theirs:
            other = student.node(candidate)
            if candidate in taken or other["op"] != attrs["op"]:
                continue
            similar = param_similarity(attrs, other)
            credit = 1.0 if similar == 1.0 else 0.5 + 0.4 * similar  # different parameters never count in full
            inputs = attrs["inputs"]
            wired = sum(1 for i in inputs if i in matches and matches[i][0] in other["inputs"]) / len(inputs) if inputs else 1.0
            score = credit + 0.25 * wired
            if score > best_score:
                best, best_score, best_credit = candidate, score, credit
        if best is not None:
            matches[node] = (best, best_credit)
            taken.add(best)
    node_f1 = 2 * sum(credit for _, credit in matches.values()) / (len(ours) + len(theirs)) if ours or theirs else 1.0
    our_edges = [(u, v) for u, v in teacher.graph.edges if v in our_set]
    their_edges = {(u, v) for u, v in student.graph.edges if v in their_set}
    kept = sum(1 for u, v in our_edges if u in matches and v in matches and (matches[u][0], matches[v][0]) in their_edges)
    edge_f1 = 2 * kept / (len(our_edges) + len(their_edges)) if our_edges or their_edges else 1.0
    similarity = 1.0 if exact else round(NODE_WEIGHT * node_f1 + (1 - NODE_WEIGHT) * edge_f1, 6)
    return StructureMatch(exact, similarity, round(node_f1, 6), round(edge_f1, 6), matches,
                          edit_script(teacher, student, matches, ours, theirs) if script else "")


def edit_script(teacher: Plan, student: Plan, matches, ours, theirs) -> str:
    """The teacher's plan turned into the student's, one numbered node per line (t = teacher, s = student)."""
    our_lines, their_lines = numbered_lines(teacher, "t"), numbered_lines(student, "s")
    matched = {student_id for student_id, _ in matches.values()}
    lines = []
    for node in ours:
        if node not in matches:
            lines.append(f"remove {our_lines[node]}")
            continue
        other, credit = matches[node]
        if teacher.node(node)["params"] == student.node(other)["params"]:
            lines.append(f"keep   {our_lines[node]}")
        else:
            lines.append(f"update {our_lines[node]}\n    -> {their_lines[other]}")
    lines.extend(f"insert {their_lines[node]}" for node in theirs if node not in matched)
    return "\n".join(lines)

