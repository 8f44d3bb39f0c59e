"""Limits hold against hostile programs: one deadline for every stage, a hard stop inside a step,
the supervised worker killed at the deadline, bytes counted over the results alive at once,
bounded output, strict flags (issue 15)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

from conftest import csvdsl
from csvdsl.errors import DslError, LimitError, Span
from csvdsl.limits import Deadline, Limits, hard_stop
from csvdsl.program import plan_program, run_program
from csvdsl.render import content_sha256, dumps, to_json, write_json
from csvdsl.session import Session
from csvdsl.tables import Catalog, table_from_frame
from csvdsl.worker import Worker
from planner.execute import Value

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def chain(bindings: int) -> str:
    """The issue's program: every binding filters the one before (25.7k characters at 1,000)."""
    return "\n".join(["b0 = t | filter x > 0"] + [f"b{i} = b{i - 1} | filter x > {i % 7}" for i in range(1, bindings)]
                     + [f"answer b{bindings - 1}"])


@pytest.fixture(scope="module")
def small():
    return Catalog([table_from_frame("t", pd.DataFrame({"x": np.arange(100), "s": ["ab"] * 100}))])


def test_a_thousand_chained_bindings_compile_well_within_the_timeout(small):
    plan_program(chain(3), small)  # the parser is built once per process: not this program's time
    started = time.monotonic()
    checked, plan = plan_program(chain(1000), small, limits=Limits(timeout=5))
    assert time.monotonic() - started < 5 and plan.root is not None


def test_compile_time_is_linear_in_the_number_of_bindings(small):
    def seconds(n):
        text = chain(n)
        started = time.monotonic()
        plan_program(text, small, limits=Limits(max_program_chars=None, timeout=None))
        return time.monotonic() - started

    seconds(3)  # the parser is built once per process
    short, long = seconds(500), seconds(2000)
    assert long < 4 * short * 2.0  # four times the bindings, at most about four times the time


def test_the_deadline_covers_parsing_checking_and_compiling(small):
    plan_program(chain(3), small)
    with pytest.raises(LimitError) as caught:
        plan_program(chain(1000), small, limits=Limits(timeout=0.01))
    assert caught.value.code == "timeout" and "after" in caught.value.message


def test_the_cli_stops_a_thousand_bindings_within_its_timeout_and_two_seconds(tmp_path):
    data = tmp_path / "t.csv"
    pd.DataFrame({"x": range(1000)}).to_csv(data, index=False)
    program = tmp_path / "p.dsl"
    program.write_text(chain(1000))
    started = time.monotonic()
    assert csvdsl("run", "-e", "answer 1", "--csv", data).returncode == 0
    startup = time.monotonic() - started  # starting Python, importing, building the parser: not the program's
    started = time.monotonic()
    done = csvdsl("run", program, "--csv", data, "--timeout", "5")
    assert time.monotonic() - started - startup < 5 + 2
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr


def test_a_thousand_bindings_run_or_stop_within_the_timeout_and_two_seconds(small):
    plan_program(chain(3), small)
    started = time.monotonic()
    try:
        run_program(chain(1000), small, Limits(timeout=5), hard=True)
    except LimitError as error:
        assert error.code == "timeout"
    assert time.monotonic() - started < 5 + 2


def test_the_hard_stop_interrupts_a_step_that_never_checks_the_clock_and_names_it():
    started, deadline = time.monotonic(), Deadline(0.2)
    with pytest.raises(LimitError) as caught:
        with hard_stop(deadline, grace=0.1):
            deadline.check("before filter node 1234abcd", Span(2, 5))  # as the executor checks before a step
            while True:  # a single long call: no deadline check would ever run
                sum(range(1000))
    assert caught.value.code == "timeout" and time.monotonic() - started < 2
    assert (caught.value.line, caught.value.column) == (2, 5)


def test_grouped_mode_over_200k_ids_stops_within_its_timeout(tmp_path):
    data = tmp_path / "ids.csv"
    pd.DataFrame({"id": range(200_000), "s": np.resize(["a", "b", "c"], 200_000)}).to_csv(data, index=False)
    started = time.monotonic()
    assert csvdsl("run", "-e", "r = ids | take 1\nanswer r.s", "--csv", data).returncode == 0
    baseline = time.monotonic() - started  # starting Python and reading the CSV: not the program's
    started = time.monotonic()
    done = csvdsl("run", "-e", "m = ids | group id aggregate m = mode(s) | aggregate n = count()\nanswer m.n",
                  "--csv", data, "--timeout", "2")
    assert time.monotonic() - started - baseline < 2 + 2
    assert done.returncode == 0 and done.stdout.strip() == "200000", done.stderr


def test_the_worker_is_killed_and_replaced_at_the_deadline():
    with Worker(grace=0.3) as worker:
        assert worker.call(sum, [1]) == 1  # the child has started: its start is no program's time
        started = time.monotonic()
        with pytest.raises(LimitError) as caught:
            worker.call(time.sleep, 30, timeout=0.5)
        assert caught.value.code == "timeout" and time.monotonic() - started < 5
        assert worker.restarts == 1
        assert worker.call(sum, [1, 2, 3], timeout=30) == 6  # a fresh child (its start is not timed)


def test_a_batch_in_the_worker_loses_only_the_item_that_overruns():
    """Worker.map sends every item at once; an item past its timeout gets the timeout error,
    and the items after it run in a new child."""
    with Worker(grace=0.5) as worker:
        started = time.monotonic()
        results = worker.map(time.sleep, [(0,), (30,), (0,), (0,)], timeout=1)
        assert time.monotonic() - started < 10 and worker.restarts == 1
        assert results[0] is None and results[2:] == [None, None]
        assert isinstance(results[1], LimitError) and results[1].code == "timeout"
        assert [type(r).__name__ for r in worker.map(int, [("7",), ("x",)])] == ["int", "ExecutionError"]


class _OnlyHere:
    """A class the worker cannot import (this test module is not on its path)."""


def test_an_item_that_cannot_travel_fails_alone_and_the_replies_stay_in_step():
    with Worker() as worker:
        results = worker.map(len, [("ab",), (threading.Lock(),), (_OnlyHere(),), ("abc",)], timeout=30)
        assert results[0] == 2 and results[3] == 3 and worker.restarts == 0
        assert [r.code for r in results[1:3]] == ["unsendable", "unsendable"]
        assert [worker.call(sum, [n, 1]) for n in range(3)] == [1, 2, 3]


def test_the_worker_runs_programs_and_sessions_and_returns_their_errors(tmp_path):
    data = tmp_path / "t.csv"
    pd.DataFrame({"x": range(30_000), "g": np.resize(["a", "b"], 30_000)}).to_csv(data, index=False)
    with Worker() as worker:
        run = worker.run({"t": str(data)}, "r = t | group g aggregate n = count()\nanswer r")
        assert run.answer.value.to_dict("list") == {"g": ["a", "b"], "n": [15_000, 15_000]}
        with pytest.raises(DslError) as caught:
            worker.run({"t": str(data)}, "answer t.nope")
        assert caught.value.code == "unknown-column" and caught.value.line == 1
        # A large table answer comes back cut, with its size and the hash of the whole.
        whole = worker.run({"t": str(data)}, "answer t").answer
        assert len(whole.value) == 10_000 and whole.rows_total == 30_000 and len(whole.sha256) == 64
        session = worker.session({"t": str(data)})
        failed = session.run("b = nope | take 1")  # a turn's error travels back as an observation
        assert not failed.ok and failed.error.code == "unknown-table" and "nope" in failed.text
        assert session.run("a = t | filter x < 10").ok
        observation = session.run("n = a | aggregate n = count()\nanswer n.n")
        assert observation.ok and observation.answer.value == 10 and session.answer.value == 10


def test_the_results_alive_at_once_are_counted_and_freed_after_their_last_use():
    frame = pd.DataFrame({"k": np.arange(200_000) % 100_000, "v": np.arange(200_000.0)})  # each key twice
    catalog = Catalog([table_from_frame("t", frame)])
    sorts = [f"s{i} = {'j' if i == 0 else f's{i - 1}'} | sort {'v' if i % 2 else 'k'}" for i in range(6)]
    program = "\n".join(["j = t | join t on k | take 400000", *sorts, "r = s5 | aggregate n = count()", "answer r.n"])
    one_step = 400_000 * 24  # bytes of one sorted copy of the join (three 8-byte columns)
    limits = Limits(max_bytes=int(one_step * 3.5), max_rows=None)
    assert run_program(program, catalog, limits, keep=()).answer.value == 400_000  # freed as it goes
    with pytest.raises(LimitError) as caught:
        run_program(program, catalog, limits)  # keeping every result: the sorts add up
    assert caught.value.code == "too-many-bytes"


def test_string_growth_is_refused_before_it_is_allocated():
    catalog = Catalog([table_from_frame("t", pd.DataFrame({"s": ["x" * 100] * 10_000}))])
    doubling = "\n".join(["a0 = t | derive s = concat(s, s)"] + [f"a{i} = a{i - 1} | derive s = concat(s, s)" for i in range(1, 20)]
                         + ["r = a19 | aggregate n = count()", "answer r.n"])
    with pytest.raises(LimitError) as caught:
        run_program(doubling, catalog, Limits(max_bytes=50 * 2**20), keep=())
    assert caught.value.code == "too-many-bytes" and "would add" in caught.value.message
    growing = 'r = t | derive s = replace(s, "x", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")\nanswer r'
    with pytest.raises(LimitError) as caught:
        run_program(growing, catalog, Limits(max_bytes=50 * 2**20))
    assert caught.value.code == "too-many-bytes"


def test_a_session_survives_five_hundred_rebinds():
    session = Session({"t": pd.DataFrame({"x": range(10)})})
    for i in range(500):
        observation = session.run(f"t = t | filter x > {i % 3 - 5}")
        assert observation.ok, observation.text
    assert session.run("n = t | aggregate n = count()\nanswer n.n").answer.value == 10


def test_json_output_is_streamed_bounded_and_marked_when_cut():
    frame = pd.DataFrame({"a": range(25_000), "b": ["x\x1by"] * 25_000})
    value = run_program("answer t", Catalog([table_from_frame("t", frame)])).answer
    sink = io.StringIO()
    write_json(value, sink)
    assert json.loads(sink.getvalue()) == json.loads(dumps(to_json(value)))  # same text, built a chunk at a time
    assert json.loads(sink.getvalue())["value"]["rows"][0] == [0, "x\x1by"]  # JSON keeps the exact value
    sink = io.StringIO()
    write_json(value, sink, max_rows=3)
    cut = json.loads(sink.getvalue())
    assert len(cut["value"]["rows"]) == 3 and cut["truncated"] is True and cut["rows_total"] == 25_000
    assert cut["sha256"] == content_sha256(value)
    assert to_json(value, 3) == cut


def test_text_output_escapes_control_characters():
    from csvdsl.render import render_markdown, render_text

    value = Value("table", pd.DataFrame({"n\x1b[2J": ["\x1b[31mred\x07"]}), table=None)
    for text in (render_text(value), render_markdown(value), render_text(Value("string", "\x1b]0;title\x07"))):
        assert "\x1b" not in text and "\x07" not in text and "\\x1b" in text


@pytest.mark.parametrize("flag", [["--max-rows", "-1"], ["--max-bytes", "-1"], ["--timeout", "-5"], ["--timeout", "nan"],
                                  ["--timeout", "inf"], ["--max-depth", "-2"]])
def test_negative_or_non_finite_limits_are_usage_errors(flag, tmp_path):
    data = tmp_path / "t.csv"
    data.write_text("x\n1\n")
    done = csvdsl("run", "-e", "answer t", "--csv", data, *flag)
    assert done.returncode == 2 and flag[0] in done.stderr


def test_max_rows_bounds_source_tables_too(tmp_path):
    data = tmp_path / "t.csv"
    data.write_text("x\n1\n2\n3\n")
    done = csvdsl("run", "-e", "r = t | take 1\nanswer r", "--csv", data, "--max-rows", "2")
    assert done.returncode == 1 and "[too-many-rows]" in done.stderr and "table t has 3 rows" in done.stderr


def test_fuzz_without_its_dependencies_names_the_extra(tmp_path):
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text("import sys\nsys.modules['hypothesis'] = None\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    done = subprocess.run([sys.executable, "-m", "csvdsl", "fuzz", "--examples", "1"], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "csvdsl[fuzz]" in done.stderr and "Traceback" not in done.stderr
