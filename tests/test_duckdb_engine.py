"""The DuckDB engine (``Engine(..., backend="duckdb")``, ``--engine duckdb``): every fixture with an
expected answer gives it on DuckDB too; a node the SQL translation does not cover runs on pandas
and says so; intermediate results are fetched when read and equal the pandas executor's."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import csvdsl as _cli
from csvdsl.engine import Engine
from csvdsl.errors import LimitError
from csvdsl.limits import Limits
from csvdsl.render import to_json
from csvdsl.tables import Catalog, table_from_frame
from test_fixtures import FIXTURES, check_fixture, load_fixture

pytest.importorskip("duckdb")

# Fixtures DuckDB cannot pass, each with the documented reason (strict: one that starts passing fails).
KNOWN = {}


@pytest.fixture(scope="module")
def engines(catalogs):
    cache = {}

    def get(names, backend="duckdb"):
        key = (tuple(names), backend)
        if key not in cache:
            cache[key] = Engine(catalogs(names), backend=backend)
        return cache[key]

    return get


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_on_duckdb(path, engines, request):
    """Every fixture: its answer, or its error at its position."""
    if path.stem in KNOWN:
        request.applymarker(pytest.mark.xfail(reason=KNOWN[path.stem], strict=True))
    fixture = load_fixture(path)
    check_fixture(fixture, engines(fixture["csv"]).run)


FRAME = pd.DataFrame({"g": ["a", "b", "a", "b", "a", None], "x": [1, 2, 2, 3, 2, 5],
                      "y": [1.5, None, 2.5, 4.0, 0.5, 1.0], "d": pd.to_datetime(["2024-01-0%d" % i for i in range(1, 7)])})


def _both(program: str, keep="all"):
    tables = {"t": FRAME}
    return Engine(tables).run(program, keep=keep), Engine(tables, backend="duckdb").run(program, keep=keep)


def test_a_node_sql_does_not_cover_runs_on_pandas_and_says_so():
    program = "m = t | group g aggregate top = mode(x), n = count() | sort g\nanswer m"
    ours, theirs = _both(program)
    assert to_json(theirs.answer) == to_json(ours.answer)
    assert len(theirs.execution.fallbacks) == 1 and "mode" in theirs.execution.fallbacks[0]
    assert "group" in theirs.execution.fallbacks[0]


def test_steps_after_a_pandas_node_run_on_duckdb_over_its_result():
    program = "m = t | group g aggregate top = mode(x) | filter top > 1 | derive z = top * 10 | sort z desc\nanswer m.z"
    ours, theirs = _both(program)
    assert to_json(theirs.answer) == to_json(ours.answer) == {"type": "list", "value": [50, 20, 20]}


@pytest.mark.parametrize("program", [
    "a = t | aggregate n = count()\nb = t | filter x > 1 | aggregate n = count(), m = mean(y)\nanswer round(a.n - b.n + b.m, 2)",
    'top = t | sort x desc | take 1\nanswer top.g is null and top.y > 0.5 and top.x in [5, 6]',
])
def test_an_answer_over_one_row_inputs_is_computed_by_duckdb(program, monkeypatch):
    """planner/sql_answer.py: the answer is one cell of a query, not computed on pandas."""
    import planner.duckdb_backend

    pandas = Engine({"t": FRAME}).run(program)

    def on_pandas(*args, **kwargs):
        raise AssertionError("the answer was computed on pandas")

    monkeypatch.setattr(planner.duckdb_backend, "run_node", on_pandas)
    assert to_json(Engine({"t": FRAME}, backend="duckdb").run(program).answer) == to_json(pandas.answer)


def test_intermediate_results_are_fetched_when_read_and_equal_the_executors():
    program = "a = t | filter x > 1 | derive w = y * 2\nb = a | group g aggregate s = sum(x), m = mean(w)\nanswer b"
    ours, theirs = _both(program)
    frames = theirs.execution.frames
    answer_input = theirs.plan.node(theirs.plan.root)["inputs"][0]
    assert frames.fetched() <= {answer_input}  # nothing else was fetched for the answer
    for node in ours.execution.frames:
        assert node in frames
        mine, reference = frames[node], ours.execution.frames[node]
        if theirs.plan.node(node)["op"] == "answer":
            continue
        pd.testing.assert_frame_equal(mine.reset_index(drop=True), reference.reset_index(drop=True), check_like=False)


def test_keep_nothing_keeps_only_the_outputs():
    _, theirs = _both("a = t | filter x > 1\nanswer a.x", keep=())
    assert list(theirs.execution.frames) == [theirs.plan.root]


def test_a_table_added_later_is_queried():
    engine = Engine({"t": FRAME}, backend="duckdb")
    program = "n = {} | aggregate n = count(), top = mode(x)\nanswer n.n"  # mode: a result registered from pandas
    assert to_json(engine.run(program.format("t")).answer) == {"type": "number", "value": 6}
    engine.add_table(table_from_frame("u", FRAME.head(2)))
    assert to_json(engine.run(program.format("u")).answer) == {"type": "number", "value": 2}


def test_limits_hold_on_duckdb():
    engine = Engine({"t": FRAME}, backend="duckdb")
    with pytest.raises(LimitError) as caught:
        engine.run("answer t", limits=Limits(max_rows=3))
    assert caught.value.code == "too-many-rows"
    big = pd.DataFrame({"k": [1] * 3000})
    slow = Engine({"a": big}, backend="duckdb")
    text = "p = a | join a on k | join a on k | aggregate n = count()\nanswer p.n"
    with pytest.raises(LimitError) as caught:
        slow.run(text, limits=Limits(timeout=0.5, max_rows=None, max_bytes=None))
    assert caught.value.code == "timeout"


def test_the_rows_fetched_for_printing_count_against_max_bytes():
    # Each printed table is fetched out of DuckDB and kept for the output: 60 of them once took
    # 6.8 GB against a limit of 400 MB.
    frame = pd.DataFrame({"x": range(100_000), "y": [0.5] * 100_000})  # 1.6 MB
    text = "\n".join(f"t | filter x > {i}" for i in range(10))
    limits = Limits(max_bytes=8 * 2**20)
    with pytest.raises(LimitError) as caught:
        Engine({"t": frame}, cache_bytes=0, backend="duckdb").run(text, limits=limits)
    assert caught.value.code == "too-many-bytes" and caught.value.line is not None
    assert len(Engine({"t": frame}, cache_bytes=0, backend="duckdb").run(text, limits=Limits(max_bytes=64 * 2**20)).execution.outputs) == 10


def test_engine_rejects_an_unknown_backend():
    with pytest.raises(ValueError, match="backend"):
        Engine({"t": FRAME}, backend="spark")


def test_cli_run_with_engine_duckdb_and_verbose(tmp_path):
    FRAME.to_csv(tmp_path / "t.csv", index=False)
    program = "m = t | group g aggregate top = mode(x) | sort g\nanswer m.top"
    pandas_run = _cli("run", "-e", program, "--csv", str(tmp_path / "t.csv"), "--format", "json")
    duck = _cli("run", "-e", program, "--csv", str(tmp_path / "t.csv"), "--format", "json", "--engine", "duckdb", "--verbose")
    assert duck.returncode == 0, duck.stderr
    assert json.loads(duck.stdout) == json.loads(pandas_run.stdout)
    assert "ran on pandas" in duck.stderr and "mode" in duck.stderr
    bad = _cli("run", "-e", program, "--csv", str(tmp_path / "t.csv"), "--engine", "spark")
    assert bad.returncode == 2


@pytest.mark.parametrize("strategy", ["programs", "one_value_programs"])
def test_generated_programs_agree_on_both_engines(strategy):
    """Generated programs on generated tables (the fuzzer's strategies; one_value_programs for
    answers DuckDB computes itself): the DuckDB engine gives the pandas engine's answer, or the
    DslError pandas gives; intermediate results have the same shape."""
    from hypothesis import given

    from csvdsl.errors import DslError
    from csvdsl.testing import strategies
    from csvdsl.testing.fuzz import LIMITS, TOLERANCE
    from verifier.answers import compare

    @given(frame=strategies.tables(), program=getattr(strategies, strategy)(strategies.SCHEMA))
    def agree(frame, program):
        table = table_from_frame("t", frame)
        catalog = Catalog([type(table)(table.name, None, table.frame, dict(strategies.SCHEMA))])
        duckdb = Engine(catalog, cache_bytes=0, limits=LIMITS, backend="duckdb")
        try:
            ours = Engine(catalog, cache_bytes=0, limits=LIMITS).run(program)
        except DslError as error:
            with pytest.raises(DslError) as theirs:
                duckdb.run(program)
            assert theirs.value.code == error.code, program
            return
        theirs = duckdb.run(program)
        match = compare(to_json(ours.answer), to_json(theirs.answer), TOLERANCE)
        assert match.score == 1, f"{match.reason}\n{program}\npandas: {to_json(ours.answer)}\nduckdb: {to_json(theirs.answer)}"
        for node, frame_ in ours.execution.frames.items():
            if isinstance(frame_, pd.DataFrame):
                assert theirs.execution.frames[node].shape == frame_.shape, (node, program)

    agree()


def test_results_computed_on_pandas_stay_registered_within_a_bound():
    from planner.duckdb_backend import REGISTERED

    engine = Engine({"t": FRAME}, backend="duckdb")
    for threshold in range(REGISTERED + 6):
        program = f"m = t | derive z = x + {threshold} | aggregate top = mode(z)\nanswer m.top"
        assert to_json(engine.run(program).answer) == {"type": "number", "value": 2 + threshold}
    assert len(engine._duckdb._registered) == REGISTERED
    first = "m = t | derive z = x + 0 | aggregate top = mode(z) | derive w = top * 2\nanswer m.w"  # evicted: run again
    assert to_json(engine.run(first).answer) == {"type": "number", "value": 4}


def test_engine_choice_reaches_the_repl_and_verify_and_the_environment_sets_the_default(tmp_path, monkeypatch):
    FRAME.to_csv(tmp_path / "t.csv", index=False)
    repl = _cli("repl", "--engine", "duckdb", str(tmp_path / "t.csv"), stdin="m = t | group g aggregate top = mode(x)\nanswer m.top\n")
    assert repl.returncode == 0 and "[2, 2, 5]" in repl.stdout, repl.stdout + repl.stderr
    (tmp_path / "a.dsl").write_text("n = t | aggregate n = count()\nanswer n.n\n")
    (tmp_path / "b.dsl").write_text("k = t | aggregate k = count()\nanswer k.k\n")
    verify = _cli("verify", "--teacher", str(tmp_path / "a.dsl"), "--student", str(tmp_path / "b.dsl"),
                  "--csv", str(tmp_path / "t.csv"), "--engine", "duckdb", "--format", "json")
    assert verify.returncode == 0 and json.loads(verify.stdout)["answer_match"] == 1.0, verify.stderr
    monkeypatch.setenv("CSVDSL_ENGINE", "duckdb")
    assert Engine({"t": FRAME}).backend == "duckdb"
    assert Engine({"t": FRAME}, backend="pandas").backend == "pandas"


def test_a_table_with_a_column_named_like_the_row_order_runs_on_pandas():
    frame = FRAME.assign(__rn=[5, 4, 3, 2, 1, 0])
    run = Engine({"t": frame}, backend="duckdb").run("s = t | sort x | take 2\nanswer s.__rn")
    assert to_json(run.answer) == to_json(Engine({"t": frame}).run("s = t | sort x | take 2\nanswer s.__rn").answer)
    assert "__rn" in run.execution.fallbacks[0] and "whole plan ran on pandas" in run.execution.fallbacks[0]


@pytest.mark.parametrize("program", ["s = t | rename __rn = g | sort x desc | take 3\nanswer s",
                                     "s = t | derive __rn = 10 - x | sort g | take 3\nanswer s"])
def test_a_step_that_makes_a_column_named_like_the_row_order_runs_on_pandas(program):
    # The SQL would overwrite it with the row order: a silent wrong answer.
    run = Engine({"t": FRAME}, backend="duckdb").run(program)
    assert to_json(run.answer) == to_json(Engine({"t": FRAME}).run(program).answer)
    assert "__rn" in run.execution.fallbacks[0] and "whole plan ran on pandas" in run.execution.fallbacks[0]


@pytest.mark.parametrize("steps", [600, 3000])
def test_a_long_chain_of_steps_runs_on_duckdb_or_falls_back(steps):
    # 600 steps once overflowed Python's stack while the SQL was planned (program-too-deep);
    # 3000 are past DuckDB's own expression depth, so the plan runs on pandas.
    program = "s = t" + " | take 5" * steps + "\nanswer s"
    run = Engine({"t": FRAME}, backend="duckdb").run(program)
    assert to_json(run.answer) == to_json(Engine({"t": FRAME}).run(program).answer)
    assert bool(run.execution.fallbacks) == (steps > 1000)


@pytest.mark.parametrize("rows", ["", " LIMIT 0", " LIMIT 1", " OFFSET 1"])
def test_small_results_through_numpy_are_typed_as_through_arrow(rows):
    import duckdb

    from planner.duckdb_backend import _ARROW_TYPES, numpy_frame, typed_frame

    values = ("1::BIGINT, 1.5::DOUBLE, TRUE, 'a', DATE '2020-01-02', TIMESTAMP '2020-01-02 03:04:05', 1::BIGINT, "
              "'nan'::DOUBLE, TRUE, 'x', DATE '2020-01-01', TIMESTAMP '2020-01-01 00:00:00'")
    sql = (f"SELECT * FROM (VALUES ({values}), (NULL, NULL, NULL, NULL, NULL, NULL, 2, 3.0, FALSE, 'y', DATE '2020-01-01', "
           f"TIMESTAMP '2020-01-01 00:00:00')) t(i, f, b, s, d, ts, i2, f2, b2, s2, d2, ts2){rows}")
    kinds = dict(zip(["i", "f", "b", "s", "d", "ts"], ["int", "float", "bool", "string", "date", "datetime"]))
    kinds |= {f"{name}2": kind for name, kind in kinds.items()}
    connection = duckdb.connect()
    through_arrow = typed_frame(connection.sql(sql).to_arrow_table().to_pandas(types_mapper=_ARROW_TYPES.get), kinds)
    pd.testing.assert_frame_equal(numpy_frame(connection.execute(sql).fetchnumpy(), kinds), through_arrow)


def test_a_rerun_reuses_its_translation():
    engine = Engine({"t": FRAME}, backend="duckdb")
    program = "a = t | filter x > 1 | group g aggregate n = count() | sort n desc, g | take 1\nanswer a.g"
    first = to_json(engine.run(program).answer)
    held = len(engine._duckdb.translations)
    assert to_json(engine.run(program).answer) == first and len(engine._duckdb.translations) == held


def test_a_reloaded_table_is_read_afresh_by_a_program_run_before():
    # The catalog keeps one table per name; the backend may still be handed new rows for one
    # (no result cache here: it keys results by node id, which names the table, not its rows).
    engine = Engine({"t": FRAME}, cache_bytes=0, backend="duckdb")
    program = "a = t | filter x > 1 | group g aggregate n = count() | sort n desc, g | take 1\nanswer a.g"
    assert to_json(engine.run(program).answer)["value"] == "a"
    engine._duckdb.add("t", FRAME.assign(g=FRAME["g"].replace({"a": "z"})))
    assert to_json(engine.run(program).answer)["value"] == "b"


def test_no_progress_bar_reaches_stdout(capfd):
    # DuckDB draws one on stdout for a query over progress_bar_time ms (2,000 by default), into
    # the user's JSON or REPL output; at 0 ms every query would draw it.
    engine = Engine({"t": FRAME}, cache_bytes=0, backend="duckdb")
    engine._duckdb.connection.execute("SET progress_bar_time = 0")
    capfd.readouterr()
    assert to_json(engine.run("a = t | group g aggregate n = count() | sort n desc, g | take 1\nanswer a.g").answer)
    assert capfd.readouterr().out == ""
