"""Row order in the SQL translation (planner/sql_order.py): a node keeps pandas' row order in
``__rn`` (a window) only where a later step reads it. Programs where dropping the order would
change the answer give pandas' answer on DuckDB; programs where nothing reads the order run
without the windows."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from csvdsl.engine import Engine
from csvdsl.program import plan_program
from csvdsl.render import to_json
from csvdsl.tables import Catalog, table_from_frame
from csvdsl.testing.fuzz import oracle_answer
from planner.dialects import plan_queries
from planner.oracle import run_oracle
from planner.sql import _FUNCTIONS, ROW
from planner.sql_order import ORDER_SENSITIVE, ordered_nodes, row_bound

pytest.importorskip("duckdb")

# Ties everywhere (g, k), so an order read from the wrong place shows.
T = pd.DataFrame({"g": ["b", "a", "b", "a", "c", "a", "b", "c"], "k": [2, 1, 2, 1, 1, 2, 2, 1],
                  "x": [3, 1, 3, 2, 5, 1, 4, 7], "s": ["p;q", "r", "s;t;u", "v", "w", "x;y", "z", "o"]})
U = pd.DataFrame({"g": ["a", "c", "b", "a"], "w": [10, 20, 30, 40]})
TABLES = {"t": T, "u": U}
CATALOG = Catalog([table_from_frame(name, frame) for name, frame in TABLES.items()])


def _answers(program: str):
    """pandas' answer, the DuckDB engine's and the SQL oracle's, as JSON values."""
    _, plan = plan_program(program, CATALOG)
    pandas = to_json(Engine(TABLES).run(program).answer)
    duck = to_json(Engine(TABLES, backend="duckdb").run(program).answer)
    oracle = oracle_answer(run_oracle(plan, TABLES), plan.node(plan.root)["schema"])
    return pandas, duck, oracle, plan


def _sql(program: str) -> str:
    _, plan = plan_program(program, CATALOG)
    return "\n".join(sql for _, sql in plan_queries(plan))


# Programs whose answer reads an order that is easy to lose: each must keep it.
ORDER_READ = {
    "take after a sort with ties": "a = t | sort g | take 4\nanswer a",
    "take after a group": "a = t | group g aggregate n = count() | take 2\nanswer a.g",
    "take after a join": "a = t | join u on g | take 5\nanswer a",
    "take after a distinct": "a = t | distinct g, k | take 3\nanswer a",
    "take after a split": "a = t | split s on \";\" | take 4\nanswer a.s",
    "take after a cross join": "a = t | join cross u | take 6\nanswer a",
    "first after a sort": "a = t | sort x desc | aggregate f = first(g), l = last(s)\nanswer a.f",
    "first by group after a sort": "a = t | sort k | group g aggregate f = first(x)\nanswer a",
    "row_number after a sort": "a = t | sort k | derive r = row_number()\nanswer a",
    "row_number by value ties": "a = t | sort g desc | derive r = row_number(k)\nanswer a.r",
    "cumsum after a group": "a = t | group g aggregate n = sum(x) | derive c = cumsum(n)\nanswer a.c",
    "lag after a join": "a = t | join u on g | derive p = lag(x)\nanswer a.p",
    "sort keys tie after a derive overwrote a group key": ("a = t | group g, k aggregate n = sum(x) | derive g = \"z\""
                                                           " | sort g, k | take 2\nanswer a"),
    "sort keys tie after a select renamed a group key": ("a = t | group g, k aggregate n = sum(x) | select h = g, n"
                                                         " | sort h | take 3\nanswer a"),
    "a table answer keeps the join order": "a = t | join u on g | select g, x, w\nanswer a",
    "a list answer keeps the sort order": "a = t | sort k desc, g\nanswer a.x",
    "two consumers, one reads the order": ("a = t | sort x desc\nb = a | aggregate n = count()\nc = a | take 2"
                                           "\nanswer n = b.n, top = c.x"),
}


@pytest.mark.parametrize("program", ORDER_READ.values(), ids=ORDER_READ.keys())
def test_an_order_a_later_step_reads_is_kept(program):
    pandas, duck, oracle, _ = _answers(program)
    assert duck == pandas
    if "type" in oracle:  # a record's parts come back one by one
        assert oracle["value"] == pandas["value"]


def test_a_sort_whose_keys_tie_goes_by_its_inputs_order():
    sql = _sql("a = t | group g aggregate n = count() | derive g2 = g | sort n | take 2\nanswer a")
    assert re.search(rf"ORDER BY \"n\" ASC NULLS LAST, {ROW}", sql)
    assert "row_number() OVER (ORDER BY \"g\" ASC NULLS LAST)" in sql  # the group's order is read


# Programs where nothing reads an order: no window at all.
ORDER_UNREAD = {
    "an aggregate after a sort": "a = t | sort x desc | filter k == 1 | aggregate n = count(), m = max(x)\nanswer a.n",
    "an aggregate after a group": "a = t | group g aggregate n = count() | aggregate m = max(n)\nanswer a.m",
    "an aggregate after a join": "a = t | join u on g | aggregate s = sum(w)\nanswer a.s",
    "an aggregate after a distinct": "a = t | distinct g | aggregate n = count()\nanswer a.n",
    "an aggregate after a split": "a = t | split s on \";\" | aggregate n = count()\nanswer a.n",
    "rank reads values, not order": "a = t | sort k | derive r = rank(x desc) | aggregate m = max(r)\nanswer a.m",
    # the take orders by x itself (a top-N), and its own order is not read
    "membership reads no order": "a = t | sort x | take 2\nb = u | filter g in a.g | aggregate s = sum(w)\nanswer b.s",
}


@pytest.mark.parametrize("program", ORDER_UNREAD.values(), ids=ORDER_UNREAD.keys())
def test_an_order_nothing_reads_costs_no_window(program):
    pandas, duck, oracle, _ = _answers(program)
    assert duck == pandas and oracle["value"] == pandas["value"]
    sql = _sql(program)
    assert "row_number()" not in sql and "min(__rn)" not in sql, sql


def test_a_sort_on_unique_keys_needs_no_tie_break():
    program = "a = t | group g aggregate n = count(), m = max(x) | sort n desc, g | take 2\nanswer a.g"
    pandas, duck, oracle, plan = _answers(program)
    assert duck == pandas and oracle["value"] == pandas["value"]
    sql = _sql(program)
    assert f"CAST(NULL AS BIGINT) AS {ROW}" in sql  # the group's order is not computed
    assert "ORDER BY \"n\" DESC NULLS LAST, \"g\" ASC NULLS LAST LIMIT 2" in sql  # a top-N, no tie-break
    group = next(n for n in plan.needed() if plan.node(n)["op"] == "group")
    assert group not in ordered_nodes(plan, [plan.node(plan.root)["inputs"][0]])


def test_keys_stay_unique_through_filter_select_and_rename():
    program = ("a = t | distinct g, k | filter k > 0 | rename gg = g | select gg, k | sort k, gg | take 3\nanswer a")
    pandas, duck, oracle, _ = _answers(program)
    assert duck == pandas and oracle["value"] == pandas["value"]
    assert "min(__rn)" not in _sql(program)


def test_row_bounds():
    _, plan = plan_program("a = t | aggregate n = count()\nb = t | sort x | take 3\nc = t | join u on g\n"
                           "answer a = a.n, b = b.x, c = c.w", CATALOG)
    bounds = {name: row_bound(plan, node) for name, node in plan.bindings.items()}
    assert bounds == {"a": 1, "b": 3, "c": None}


def test_the_order_sensitive_functions_are_those_whose_sql_reads_the_order():
    for name, sql in _FUNCTIONS.items():
        try:
            text = sql(["x", "2", "3"], "")
        except (TypeError, ValueError):  # str, concat, int, float, date and datetime take (value, type) pairs
            text = sql([("x", "string")], "")
        assert (ROW in text) == (name in ORDER_SENSITIVE), name


def test_fetching_an_intermediate_result_gets_its_own_order():
    # The answer reads no order of `a`; reading `a` itself (hooks, the REPL) must still be in order.
    program = "a = t | join u on g | sort w\nb = a | aggregate s = sum(x)\nanswer b.s"
    ours = Engine(TABLES).run(program)
    theirs = Engine(TABLES, backend="duckdb").run(program)
    node = theirs.plan.bindings["a"]
    pd.testing.assert_frame_equal(theirs.execution.frames[node].reset_index(drop=True),
                                  ours.execution.frames[node].reset_index(drop=True), check_dtype=False)


def test_a_result_of_one_row_is_fetched_without_an_order():
    """One row comes out in order whatever its __rn: the fetch sorts nothing, and the take that
    made it keeps no row number (the sort under it still breaks ties by the group's order)."""
    program = "a = t | group g aggregate m = max(k) | sort m desc | take 1\nanswer a.g"
    pandas, duck, oracle, plan = _answers(program)
    assert duck == pandas == {"type": "string", "value": "a"}  # m ties at 2 for a and b: the group order decides
    take = plan.node(plan.root)["inputs"][0]
    assert take not in ordered_nodes(plan, [take])
    assert plan.node(take)["op"] == "take" and row_bound(plan, take) == 1
    engine = Engine(TABLES, backend="duckdb")
    queries = []
    backend = engine._duckdb
    query = backend.query
    backend.query = lambda sql, *args, **kwargs: (queries.append(sql), query(sql, *args, **kwargs))[1]
    engine.run(program)
    texts = [next((text for text, name in backend._prepared.items() if f"EXECUTE {name}" == sql), sql) for sql in queries]
    assert texts and not any(text.rstrip().split("\n")[-1].count(f"ORDER BY {ROW}") for text in texts), texts
    assert "row_number() OVER (ORDER BY \"g\"" in texts[-1]  # the group's order, for the tie
