"""planner/bounds.py: the DuckDB engine runs a plan only where no whole number can come near
2**63; elsewhere pandas decides, so an overflow in a value DuckDB would never compute (a column
nothing reads, a case branch no row takes) fails on both engines alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csvdsl.check import TableType
from csvdsl.engine import Engine
from csvdsl.errors import DslError
from csvdsl.program import plan_program
from csvdsl.render import to_json
from csvdsl.testing.fuzz import TOLERANCE
from planner.bounds import overflow_risk, table_bounds
from verifier.answers import compare

pytest.importorskip("duckdb")

FRAME = pd.DataFrame({"x": [3, -7, 12, 0, 5], "g": ["a", "b", "a", "b", "a"],
                      "y": pd.array([1, None, 4, 2, 8], dtype="Int64")})  # y: whole numbers beside a null


def _on_duckdb(program: str):
    """The DuckDB engine's run, and whether a bound sent it to pandas."""
    run = Engine({"t": FRAME}, backend="duckdb").run(program)
    return run, any("2**63" in why for why in run.execution.fallbacks)


@pytest.mark.parametrize(("program", "to_pandas"), [
    ("s = t | derive b = x * 1000 + 7 | aggregate s = sum(b), n = count()\nanswer s.s", False),
    ("s = t | aggregate s = sum(x * 100000000000000)\nanswer s.s", False),  # 5 rows of at most 12e14
    ("s = t | derive b = x * 500000000000000000 | aggregate n = count()\nanswer s.n", True),  # 6e18: near, not past
    ("s = t | derive b = 9223372036854775807 | aggregate n = count()\nanswer s.n", True),  # a literal near 2**63
    # Each side's 5 rows pair up: a sum over 25 rows, at most 25 * 12 * 2e16 = 6e18.
    ("s = t | join cross t | aggregate s = sum(x * 20000000000000000)\nanswer s.s", True),
    ("s = t | aggregate s = sum(x * 20000000000000000)\nanswer s.s", False),  # 5 rows: 1.2e18
    ("s = t | derive m = month(date(\"2024-05-01\")) * 100000000000000000\nanswer s.m", False),  # 12e17
    ("s = t | derive m = int(number(g)) * 2\nanswer s.m", True),  # text read as a number: any size
    ("s = t | derive m = floor(y / 10) * 10 + round(x, -1)\nanswer s.m", False),  # binning: near y, x
])
def test_plans_whose_whole_numbers_could_come_near_2_63_run_on_pandas(program, to_pandas):
    ours, sent = _on_duckdb(program)
    assert sent == to_pandas
    assert to_json(ours.answer) == to_json(Engine({"t": FRAME}).run(program).answer)


TABLES = {
    "f": pd.DataFrame({"f": [-9223372036854775808.0, 1.5]}),
    "s2": pd.DataFrame({"k": [1, 2], "x": [5, 7], "z": [2, 3]}),
    "b1": pd.DataFrame({"k": [1, 2], "x": [1099511627776, 3]}),
    "big": pd.DataFrame({"x": [1099511627776, 3], "g": ["a", "b"]}),
}


@pytest.mark.parametrize("program", [
    "s = f | derive b = -int(f) | aggregate n = count()\nanswer s.n",  # -(-2**63)
    "s = f | derive b = abs(floor(f)) | aggregate n = count()\nanswer s.n",
    # scaled is typed with x before the item that makes it a decimal number
    "s = big | derive scaled = x * 30000000, x = x / 2 | select g\nanswer s.g",
    # z is the join's x_b1 once renamed, not the z dropped before
    "s = s2 | join b1 on k | drop z | rename z = x_b1 | derive y = z * 1073741824 | select k\nanswer s.k",
    # an aggregate's items read the input: x in sum is the column, not the count
    "s = big | aggregate x = count(), z = sum(x * 1073741824) | select x\nanswer s.x",
    "s = big | group g aggregate x = count(), z = sum(x * 1073741824) | select g, x\nanswer s",
    # a second review: 1e30 is past the cap, which dividing must not shrink
    "s = big | derive m = int(x * 1e30 / 1e12) * 100 | select g\nanswer s.g",
])
def test_overflows_in_values_nothing_reads_fail_on_both_engines(program):
    """Cases a review found, each once judged safe: pandas fails, and DuckDB must too."""
    with pytest.raises(DslError) as ours:
        Engine(TABLES).run(program)
    with pytest.raises(DslError) as theirs:
        Engine(TABLES, backend="duckdb").run(program)
    assert ours.value.code == theirs.value.code == "integer-overflow"


def test_a_tiny_divisor_is_any_size():
    program = "s = t | derive m = floor(x / 1e-310) + 1\nanswer s.x"  # once an internal error
    run, sent = _on_duckdb(program)
    assert sent and to_json(run.answer) == to_json(Engine({"t": FRAME}).run(program).answer)


def test_the_fallback_names_the_expression():
    run, _ = _on_duckdb("s = t | derive b = x * 500000000000000000 | aggregate n = count()\nanswer s.n")
    assert any("`x * 500000000000000000` could come near 2**63" in why for why in run.execution.fallbacks)


TEMPLATES = [
    "s = t | derive b = {e} | aggregate n = count()\nanswer s.n",  # b is read by nothing
    "s = t | derive b = case when x > 100 then {e} else 0 end\nanswer s.b",  # the branch no row takes
    "s = t | filter {e} > 0\nanswer s.x",  # DuckDB may rewrite x * k > 0 as x > 0
    "s = t | aggregate s = sum({e})\nanswer s.s",
    "s = t | derive c = cumsum({e})\nanswer s.c",
    "s = t | group g aggregate s = sum({e}) | sort g\nanswer s.s",
]
EXPRS = ["x * {k}", "x * {k} + {m}", "y * {k}", "-x * {k} - {m}", "abs(x) * {k}"]
magnitudes = st.integers(0, 62).flatmap(lambda p: st.integers(2**p // 2, 2**p))


@settings(max_examples=150, deadline=None)
@given(template=st.sampled_from(TEMPLATES), expr=st.sampled_from(EXPRS), k=magnitudes, m=magnitudes)
def test_both_engines_fail_alike_and_a_plan_judged_safe_never_overflows(template, expr, k, m):
    program = template.format(e=expr.format(k=k, m=m))
    try:
        expected = to_json(Engine({"t": FRAME}).run(program).answer)
    except DslError as error:
        with pytest.raises(DslError) as theirs:
            Engine({"t": FRAME}, backend="duckdb").run(program)
        assert theirs.value.code == error.code, program
        # Judged safe, DuckDB would have run it: pandas must not have failed on an overflow.
        engine = Engine({"t": FRAME})
        _, plan = plan_program(program, engine.catalog)
        assert error.code != "integer-overflow" or overflow_risk(plan, plan.needed(), engine.tables)
        return
    ours, _ = _on_duckdb(program)
    assert compare(expected, to_json(ours.answer), TOLERANCE).score == 1, program  # float sums: last digits


def test_a_tables_bounds_are_its_extremes_exactly():
    frame = pd.DataFrame({"a": [1, -2**63], "b": [np.nan, -3.5], "c": [np.nan, np.nan], "d": [np.inf, 1.0]})
    schema = TableType((("a", "int"), ("b", "float"), ("c", "int"), ("d", "float")))
    assert table_bounds(frame, schema) == {None: 2, "a": 2**63, "b": 4, "c": 0, "d": 2**64}
