"""Explaining plans: numbered bindings, DOT, English steps, and node-link JSON."""

from __future__ import annotations

import json
import os
import re

import networkx as nx
import pytest

from conftest import ROOT
from csvdsl import ast
from csvdsl.parse import parse
from csvdsl.program import plan_program
from csvdsl.tables import Catalog
from planner.explain import explain_dot, explain_english, explain_text, plan_json
from planner.ops import OPS

GOLDEN = ROOT / "tests" / "golden" / "english"
# Binding names that are also words the English uses of its own accord.
ENGLISH_WORDS = {"a", "total", "totals", "first", "number", "those", "rows", "late", "values"}

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
        "2. Keep the flights whose departure delay is above 60 and whose origin is JFK or LGA.",
        "3. For each carrier among those flights, compute the average departure delay and the number of flights.",
        "4. Sort the carriers by the number of flights (largest first), then by carrier.",
        "5. Keep the first 3 carriers.",
        "6. Answer with those carriers.",
    ]


def test_comparison_branches_stay_together_and_name_what_they_hold(catalog):
    text = ("a = penguins | filter year == 2007 | aggregate m = mean(body_mass_g)\n"
            "b = penguins | filter year == 2009 | aggregate m = mean(body_mass_g)\nanswer a.m > b.m")
    assert explain_english(plan_program(text, catalog)[1]) == [
        "1. Start from the penguins table.",
        "2. Keep the penguins whose year is 2007.",
        "3. Compute the average body mass (g) of those penguins.",
        "4. From the penguins, keep those whose year is 2009.",
        "5. Compute the average body mass (g) of the penguins whose year is 2009.",
        "6. Answer whether the average body mass (g) of the penguins whose year is 2007 is above the average body "
        "mass (g) of the penguins whose year is 2009.",
    ]


def test_english_names_side_inputs(catalog):
    text = 'avg = flights | aggregate d = mean(dep_delay)\nlate = flights | filter dep_delay > avg.d | join airlines on carrier\nanswer late'
    steps = explain_english(plan_program(text, catalog)[1])
    assert "From the flights, keep those whose departure delay is above the average departure delay of the flights." in " ".join(steps)
    assert any("Add the matching rows of airlines by carrier." in s for s in steps)


def test_every_op_has_a_phrase_that_renders(catalog):
    program = """a = flights | filter not (dep_delay between 0 and 10) or origin is null
b = a | select carrier, flight, d = dep_delay | derive r = rank(d desc) over carrier, c = case when d > 5 then "late" else "ok" end
c = b | drop flight | rename delay = d | distinct carrier, c | join left airlines on carrier
g = c | group carrier aggregate n = count_distinct(c) | sort n desc | take 2
s = flights | aggregate m = median(distance)
x = airlines | join cross planes | split name on " " | take 3
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


def _golden_cases():
    from test_fixtures import FIXTURES, load_fixture

    return [p for p in FIXTURES if load_fixture(p)["expect"]]


def _walk_statement(statement):
    from planner.ops import spec_exprs

    exprs = [statement.expr] if isinstance(statement, ast.Answer) else []
    for transform in getattr(getattr(statement, "pipeline", None), "transforms", ()):
        exprs += spec_exprs(transform)
    return [node for expr in exprs for node in ast.walk(expr)]


@pytest.mark.parametrize("path", _golden_cases(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_english_golden_file(path, catalogs):
    """Every fixture program's English, as a person reads it (CSVDSL_UPDATE_GOLDEN=1 rewrites them)."""
    from test_fixtures import load_fixture

    fixture = load_fixture(path)
    program = parse(fixture["program"])
    steps = explain_english(plan_program(fixture["program"], catalogs(fixture["csv"]))[1])
    text = "\n".join(steps) + "\n"
    golden = GOLDEN / f"{path.parent.name}-{path.stem}.txt"
    if os.environ.get("CSVDSL_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}: run with CSVDSL_UPDATE_GOLDEN=1 and read it"
    assert text == golden.read_text(encoding="utf-8")
    # No step names a result by its binding, and no sentence is said twice.
    bindings = {s.name for s in program.statements if isinstance(s, ast.Binding)}
    words = set(re.findall(r"(?<![\w'-])[A-Za-z_][A-Za-z0-9_]*(?![\w'-])", text))  # not Kendall's, p-value
    words -= {str(n.value) for s in program.statements for n in _walk_statement(s) if isinstance(n, ast.Literal)}
    columns = {c for t in fixture["csv"] for c in catalogs(fixture["csv"])[t].columns} | set(fixture["csv"])
    assert not (bindings - columns - ENGLISH_WORDS) & words, text
    sentences = [step.split(". ", 1)[1] for step in steps]
    assert len(sentences) == len(set(sentences)), text


