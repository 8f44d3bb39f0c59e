"""Plans: content-addressed node ids, shared sub-plans, stable ids across processes, limits."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from csvdsl.errors import LimitError
from csvdsl.program import plan_program, run_program, too_deep
from csvdsl.tables import Catalog, table_from_frame
from planner.execute import Limits

PEOPLE = "tests/data/people.csv"


@pytest.fixture(scope="module")
def people():
    return Catalog.from_specs([PEOPLE, "tests/data/orders.csv"])


def root(text, catalog):
    return plan_program(text, catalog)[1].root


def test_binding_names_do_not_change_the_plan(people):
    a = root("a = people | filter age > 30 | aggregate n = count()\nanswer a.n", people)
    b = root("zz = people | filter age > 30\nyy = zz | aggregate n = count()\nanswer yy.n", people)
    assert a == b


def test_a_constant_changes_the_plan(people):
    a = root("a = people | filter age > 30 | aggregate n = count()\nanswer a.n", people)
    b = root("a = people | filter age > 31 | aggregate n = count()\nanswer a.n", people)
    assert a != b


def test_the_same_sub_pipeline_under_two_names_is_one_node(people):
    _, plan = plan_program("a = people | filter age > 30\nb = people | filter age > 30\nanswer b.name", people)
    assert plan.bindings["a"] == plan.bindings["b"]
    assert plan.graph.nodes[plan.bindings["a"]]["bindings"] == ["a", "b"]
    ops = sorted(d["op"] for _, d in plan.graph.nodes(data=True))
    assert ops == ["answer", "filter", "source"]


def test_scalar_reference_is_an_input_edge(people):
    _, plan = plan_program("avg = people | aggregate m = mean(age)\nold = people | filter age > avg.m\nanswer old.name", people)
    node = plan.graph.nodes[plan.bindings["old"]]
    assert node["params"] == {"predicate": "age > $1.m"}
    assert node["inputs"][1] == plan.bindings["avg"]


def test_plan_ids_are_identical_across_processes(people):
    program = "a = people | filter age > 30 | group city aggregate n = count()\nanswer a"
    code = (
        "from csvdsl.program import plan_program; from csvdsl.tables import Catalog;"
        f"print(plan_program({program!r}, Catalog.from_specs([{PEOPLE!r}]))[1].root)"
    )
    ids = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONHASHSEED": str(seed), "PATH": ""}).stdout.strip() for seed in (1, 2)}
    assert ids == {root(program, people)}


def test_exploding_join_stops_before_allocating():
    frame = pd.DataFrame({"k": [1] * 3000, "v": range(3000)})
    catalog = Catalog([table_from_frame("t", frame)])
    with pytest.raises(LimitError) as caught:
        run_program("t | join t on k | aggregate n = count()", catalog, Limits(max_rows=1_000_000))
    assert caught.value.code == "too-many-rows"
    assert "9,000,000" in caught.value.message
    assert caught.value.line == 1


def test_row_limit_applies_to_every_node(people):
    with pytest.raises(LimitError) as caught:
        run_program("people | filter age > 0", people, Limits(max_rows=3))
    assert "--max-rows" in caught.value.hint


def test_timeout_is_a_limit_error(people):
    with pytest.raises(LimitError) as caught:
        run_program("a = people | filter age > 0\nb = a | filter age > 1\nanswer b.name", people, Limits(timeout=-1))
    assert caught.value.code == "timeout"


def test_unused_bindings_are_not_executed(people):
    run = run_program("a = people | filter age > 0\nb = people | take 1\nanswer b.name", people)
    executed = {run.plan.graph.nodes[n]["op"] for n in run.execution.frames}
    assert "filter" not in executed


def test_program_length_limit(people):
    with pytest.raises(LimitError) as caught:
        run_program("people | take 1\n" * 100, people, Limits(max_program_chars=200))
    assert caught.value.code == "program-too-long" and "max_program_chars" in caught.value.hint
    assert (caught.value.line, caught.value.column) == (13, 9)  # index 200: after 12 lines of 16, the 9th of line 13
    for limit, where in ((100.5, (7, 6)), (-5, (1, 1))):  # a float limit rounds up; none is before the first
        with pytest.raises(LimitError) as caught:
            run_program("people | take 1\n" * 100, people, Limits(max_program_chars=limit))
        assert (caught.value.line, caught.value.column) == where


def test_expression_depth_limit(people):
    deep = "people | filter age" + " + 1" * 40 + " > 1"
    with pytest.raises(LimitError) as caught:
        run_program(deep, people, Limits(max_expression_depth=20))
    assert caught.value.code == "expression-too-deep" and caught.value.line == 1
    assert run_program(deep, people, Limits(max_expression_depth=None)).execution.outputs


@pytest.mark.parametrize("text, column", [("answer " + "-" * 5000 + "1", 5008), ("answer " + "+".join(["1"] * 5000), 8)])
def test_pathological_nesting_is_a_limit_error_at_its_deepest_part(people, text, column):
    with pytest.raises(LimitError) as caught:
        run_program("t = people | take 1\n" + text, people, Limits(max_expression_depth=None))
    assert caught.value.code == "expression-too-deep" and (caught.value.line, caught.value.column) == (2, column)


@pytest.mark.parametrize("text, where", [("t = people | take 1\nanswer " + "+".join(["1"] * 150), (2, 8)),
                                         ("a = people | take 1\nb = a | take 1\nanswer b", (3, 1))])
def test_a_program_too_deep_to_process_is_placed_at_its_deepest_expression_or_last_statement(text, where):
    """Where Python's stack runs out past the parser (check, compile, SQL planning), the error
    points at the deepest expression when it is deep, else at the end of the chain of bindings."""
    error = too_deep(text)
    assert error.code == "program-too-deep" and (error.line, error.column) == where


def test_a_wide_join_is_stopped_by_bytes_before_rows():
    frame = pd.DataFrame({"k": [1] * 300, **{f"c{i}": range(300) for i in range(20)}})
    catalog = Catalog([table_from_frame("t", frame)])
    with pytest.raises(LimitError) as caught:
        run_program("t | join t on k | aggregate n = count()", catalog, Limits(max_rows=None, max_bytes=2_000_000))
    assert caught.value.code == "too-many-bytes" and "select the columns" in caught.value.hint
