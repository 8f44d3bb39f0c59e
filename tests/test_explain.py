"""Explaining plans: numbered bindings, DOT, English steps, and node-link JSON."""

from __future__ import annotations

import json

import networkx as nx
import pytest

from conftest import ROOT
from csvdsl.program import plan_program
from csvdsl.tables import Catalog
from planner.explain import explain_dot, explain_english, explain_text, plan_json
from planner.ops import OPS

TOP = """delayed = flights | filter dep_delay > 60 and origin in ["JFK", "LGA"]
top = delayed
  | group carrier aggregate n = count(), avg_delay = mean(dep_delay)
  | sort n desc, carrier
  | take 3
answer top.carrier
"""


@pytest.fixture(scope="module")
def catalog():
    return Catalog.from_specs([str(p) for p in sorted((ROOT / "examples" / "data").glob("*.csv"))])


def test_numbered_bindings(catalog):
    _, plan = plan_program(TOP, catalog)
    assert explain_text(plan).splitlines() == [
        "r0 := Source[flights]",
        'r1 := Filter[r0] dep_delay > 60 and origin in ["JFK", "LGA"]  # delayed',
        "r2 := Group[r1] carrier aggregate avg_delay = mean(dep_delay), n = count()",
        "r3 := Sort[r2] n desc, carrier",
        "r4 := Take[r3] 3  # top",
        "r5 := Answer[r4] r4.carrier",
    ]


def test_english_steps_are_the_hint(catalog):
    _, plan = plan_program(TOP, catalog)
    assert explain_english(plan) == [
        "1. Start from the flights table.",
        "2. Keep the flights whose dep_delay is above 60 and whose origin is JFK or LGA.",
        "3. For each carrier, compute avg_delay as the average dep_delay and n as the number of rows.",
        "4. Sort by n (largest first), then carrier.",
        "5. Keep the first 3 rows.",
        "6. Answer with the carrier of top.",
    ]


def test_english_names_side_inputs(catalog):
    text = 'avg = flights | aggregate d = mean(dep_delay)\nlate = flights | filter dep_delay > avg.d | join airlines on carrier\nanswer late'
    steps = explain_english(plan_program(text, catalog)[1])
    assert "Keep the flights whose dep_delay is above the d of avg." in " ".join(steps)
    assert any("Add the matching rows of airlines by carrier." in s for s in steps)


def test_every_op_has_a_phrase_that_renders(catalog):
    program = """a = flights | filter not (dep_delay between 0 and 10) or origin is null
b = a | select carrier, flight, d = dep_delay | derive r = rank(d desc) over carrier, c = case when d > 5 then "late" else "ok" end
c = b | drop flight | rename delay = d | distinct carrier, c | join left airlines on carrier
g = c | group carrier aggregate n = count_distinct(c) | sort n desc | take 2
s = flights | aggregate m = median(distance)
answer g
describe planes
"""
    _, plan = plan_program(program, catalog)
    used = {plan.node(n)["op"] for n in plan.graph}
    assert used == set(OPS), set(OPS) - used
    steps = explain_english(plan)
    assert all("{" not in step and "}" not in step for step in steps), steps


def test_dot_is_a_digraph_with_one_edge_per_input(catalog):
    _, plan = plan_program(TOP, catalog)
    dot = explain_dot(plan)
    assert dot.startswith("digraph plan {") and dot.endswith("}")
    assert dot.count("->") == plan.graph.number_of_edges() == 5
    assert 'r1 [label="r1 Filter\\ndep_delay > 60 and origin in [\\"JFK\\", \\"LGA\\"]\\n(delayed)"];' in dot


def test_node_link_json_round_trips(catalog):
    _, plan = plan_program(TOP, catalog)
    data = json.loads(json.dumps(plan_json(plan)))
    graph = nx.node_link_graph(data, edges="links")
    assert set(graph.nodes) == set(plan.graph.nodes)
    assert data["root"] == plan.root and graph.nodes[data["root"]]["op"] == "answer"
    for node in data["nodes"]:
        assert {"id", "op", "params", "inputs", "bindings"} <= node.keys()
    assert data["bindings"] == {"delayed": plan.bindings["delayed"], "top": plan.bindings["top"]}
