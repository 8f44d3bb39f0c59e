"""The verifier end to end: plans compared structurally, hooks, the report, csvdsl verify."""

from __future__ import annotations

import pytest
from conftest import ROOT

from csvdsl.engine import Engine
from csvdsl.program import plan_program
from planner.execute import Limits
from verifier.report import verify
from verifier.structure import compare_plans

EXAMPLES = ROOT / "examples" / "data"
TEACHER = """d = flights | filter dep_delay > 60 and origin in ["JFK", "LGA"]
top = d | group carrier aggregate n = count() | sort n desc | take 3
answer top.carrier
"""
SAME_SPLIT = """late = flights | filter dep_delay > 60
x = late | filter origin in ["LGA", "JFK"]
best = x | group carrier aggregate n = count() | sort n desc | take 3
answer best.carrier
"""
OTHER_ROUTE = """x = flights | derive late = case when dep_delay > 60 and origin in ["JFK", "LGA"] then 1 else 0 end
y = x | group carrier aggregate n = sum(late) | sort n desc | take 3
answer y.carrier
"""
WRONG_CONSTANT = TEACHER.replace('["JFK", "LGA"]', '["JFK", "EWR"]')


@pytest.fixture(scope="module")
def engine():
    return Engine({"flights": EXAMPLES / "flights.csv", "airlines": EXAMPLES / "airlines.csv"})


def test_same_program_written_differently_is_an_exact_match(engine):
    report = verify(TEACHER, SAME_SPLIT, engine)
    assert report.exact_plan and report.answer_match == 1.0
    assert report.similarity == 1.0 and report.hook_coverage == 1.0
    assert report.error is None


def test_another_route_to_the_answer(engine):
    report = verify(TEACHER, OTHER_ROUTE, engine)
    assert report.answer_match == 1.0 and not report.exact_plan
    assert 0 < report.similarity < 1
    assert report.hook_coverage > 0
    assert "insert s1 := Derive[s0] late = case when" in report.edit_script


def test_wrong_constant_fails_the_answer_and_shows_the_change(engine):
    report = verify(TEACHER, WRONG_CONSTANT, engine)
    assert report.answer_match == 0.0 and "expected" in report.answer_reason
    update = next(line for line in report.edit_script.splitlines() if line.startswith("update"))
    following = report.edit_script.splitlines()[report.edit_script.splitlines().index(update) + 1]
    assert '["JFK", "LGA"]' in update and '["EWR", "JFK"]' in following


def test_a_student_that_does_not_parse_gets_a_report(engine):
    report = verify(TEACHER, 'd = flights | filter dep_delay > 60 and origin in ["JFK", "LGA"\nanswer d', engine)
    assert report.error is not None and report.error.phase == "syntax"
    assert (report.error.line, report.error.column) == (2, 1)  # the open `[` carries the statement on
    assert report.answer_match == report.similarity == report.hook_coverage == 0.0
    assert report.edit_script.startswith("remove t0 := Source[flights]")


def test_a_student_that_fails_to_check_or_run_gets_a_report(engine):
    assert verify(TEACHER, "answer flights.nope", engine).error.code == "unknown-column"
    exploding = verify(TEACHER, "x = flights | join flights on origin\nanswer x", engine, limits=Limits(max_rows=100_000))
    assert exploding.error.code == "too-many-rows" and exploding.error.phase == "limit"


def test_cooking_the_egg_another_way_covers_most_hooks(engine):
    teacher = """late = flights | filter dep_delay > 60 | select carrier, dep_delay
g = late | group carrier aggregate n = count(), m = max(dep_delay)
top = g | sort n desc, carrier | take 3
answer top.carrier
"""
    student = """x = flights | select carrier, d = dep_delay | filter d > 60
g = x | group carrier aggregate worst = max(d), n = count()
top = g | sort n desc, carrier | take 3
answer top.carrier
"""
    report = verify(teacher, student, engine)
    assert report.answer_match == 1.0 and not report.exact_plan
    assert report.hooks_total == 5 and report.hooks_matched == 4  # all but the teacher's wide filter
    assert report.hook_coverage == 0.8


def test_plans_of_fifty_nodes_compare_with_a_full_script(engine):
    steps = "\n".join(f"s{i} = s{i - 1} | filter dep_delay > {i}" if i % 2 else f"s{i} = s{i - 1} | derive d{i} = dep_delay + {i}"
                      for i in range(1, 48))
    teacher = f"s0 = flights | take 100\n{steps}\nanswer s47"
    student = teacher.replace("dep_delay + 10\n", "dep_delay + 11\n")
    catalog = engine.catalog
    a, b = plan_program(teacher, catalog, canonical=False)[1], plan_program(student, catalog, canonical=False)[1]
    assert a.graph.number_of_nodes() >= 50
    match = compare_plans(a, b)
    assert 0.5 < match.similarity < 1.0
    assert len(match.edit_script.splitlines()) >= 50


def test_order_is_only_checked_when_the_teacher_sorted(engine):
    unsorted = "d = flights | filter dep_delay > 300 | distinct carrier\nanswer d.carrier"
    reversed_ = "d = flights | filter dep_delay > 300 | distinct carrier | sort carrier desc\nanswer d.carrier"
    assert verify(unsorted, reversed_, engine).answer_match == 1.0
    assert verify(reversed_.replace(" desc", ""), reversed_, engine).answer_match == 0.0


def test_hooks_do_not_leak_between_table_sets(tmp_path):
    import pandas as pd

    teacher = "a = t | filter v > 1\nanswer a"
    first = Engine({"t": pd.DataFrame({"v": [1, 2, 3]})})
    second = Engine({"t": pd.DataFrame({"v": [2, 3, 4]})})
    assert verify(teacher, teacher, first).hook_coverage == 1.0  # the teacher's step here is [2, 3]
    student = "a = t | filter v < 4\nanswer a"  # [2, 3] on the second table set, where the teacher's is [2, 3, 4]
    assert verify(teacher, student, second).hook_coverage == 0.0


def test_fingerprints_are_computed_once_per_engine(monkeypatch):
    from verifier import hooks

    engine = Engine({"flights": EXAMPLES / "flights.csv"})
    made = []
    original = hooks.fingerprint
    monkeypatch.setattr(hooks, "fingerprint", lambda frame: made.append(1) or original(frame))
    verify(TEACHER, OTHER_ROUTE, engine)
    first = len(made)
    assert first > 0 and len(hooks.fingerprints_for(engine)) == first
    verify(TEACHER, OTHER_ROUTE, engine)
    assert len(made) == first  # the second verification of the same pair hashes nothing


def test_compare_plans_without_the_script_scores_the_same():
    """The similarity reward asks for the score only: no edit script is written, nothing else changes."""
    engine = Engine({"flights": str(ROOT / "examples" / "data" / "flights.csv")})
    a = engine.run("d = flights | filter dep_delay > 60 | aggregate n = count()\nanswer d.n").plan
    b = engine.run("d = flights | filter dep_delay > 30 | aggregate n = count()\nanswer d.n").plan
    full, bare = compare_plans(a, b), compare_plans(a, b, script=False)
    assert full.edit_script and not bare.edit_script
    assert (bare.similarity, bare.node_f1, bare.edge_f1, bare.matches) == (full.similarity, full.node_f1, full.edge_f1, full.matches)
