"""CsvdslEnv, the environment TRL's GRPOTrainer builds with environment_factory: reset on a
row, the run tool (bounded observations, errors with caret and hint), limits, and the
test-suite reward of the last answer."""

from __future__ import annotations

import inspect
import json

import pytest
from conftest import ROOT

from csvdsl.models.prompts import environment_prompt
from verifier.environment import CsvdslEnv

FLIGHTS = str(ROOT / "examples" / "data" / "flights.csv")
TEACHER = 'd = flights | filter dep_delay > 60 and origin in ["JFK", "LGA"] | aggregate n = count()\nanswer d.n'


@pytest.fixture
def row():
    from csvdsl.engine import Engine

    answer = Engine({"flights": FLIGHTS}).run(TEACHER).answer
    return {"id": "t1", "question": "How many flights from JFK or LGA left more than an hour late?",
            "answer": json.dumps({"type": answer.kind, "value": answer.value}), "program": TEACHER,
            "tables": json.dumps({"flights": FLIGHTS}), "prompt": [{"role": "user", "content": ""}]}


def test_reset_gives_the_task_and_the_teacher_scores_one(row):
    env = CsvdslEnv()
    task = env.reset(**row)
    assert task.startswith("Tables:\n- flights: 3,000 rows; columns year (int)") and row["question"] in task
    assert "answer (number)" in env.run(TEACHER)
    assert env.get_reward() == 1.0


@pytest.mark.parametrize("programs", [
    ["answer 0"],
    ["answer 224"],  # the right number, written down
    ["c = flights | take 1 | derive k = 224\nanswer c.k"],  # a constant dressed up as data
    ["d = flights | filter dep_delay > 60 | aggregate n = count()\nanswer d.n"],  # another question's answer
    ["describe flights"],  # never answers
])
def test_answers_that_do_not_compute_the_teacher_s_score_zero(row, programs):
    env = CsvdslEnv()
    env.reset(**row)
    for program in programs:
        env.run(program)
    assert env.get_reward() == 0.0


def test_bindings_persist_between_calls_and_the_last_answer_counts(row):
    env = CsvdslEnv()
    env.reset(**row)
    assert env.run('late = flights | filter dep_delay > 60').startswith("bound late: ")
    assert env.run("answer 1").startswith("answer (number): 1")
    assert "answer (number)" in env.run('n = late | filter origin in ["JFK", "LGA"] | aggregate n = count()\nanswer n.n')
    assert env.get_reward() == 1.0


def test_errors_come_back_with_caret_and_hint(row):
    env = CsvdslEnv()
    env.reset(**row)
    text = env.run("answer flights.dep_dely")
    assert text.startswith("The program failed:") and "^" in text and "hint:" in text and "dep_delay" in text
    text = env.run("flights | filter dep_delay >")
    assert "syntax error" in text and "^" in text


@pytest.mark.parametrize("program", [5, None, ["answer 1"], {"program": "answer 1"}, b"answer 1", list(range(10**5))])
def test_a_program_that_is_not_text_is_a_parse_error_not_a_bug(row, program):
    # A model's tool call may carry any JSON value (or a trainer the raw bytes).
    env = CsvdslEnv()
    env.reset(**row)
    text = env.run(program)
    assert text.startswith("The program failed:") and "[program-not-text]" in text and "internal" not in text
    assert "hint:" in text and len(text) < 600
    assert env.run("answer 1").startswith("answer (number): 1")


def test_observations_are_bounded(row):
    env = CsvdslEnv(show_rows=3)
    env.reset(**row)
    text = env.run("flights | select carrier, dep_delay")
    assert "more rows" in text and len(text.splitlines()) < 12


def test_limits_come_from_the_row_or_the_constructor(row):
    env = CsvdslEnv(max_turns=2)
    env.reset(**row)
    env.run("describe flights")
    env.run("describe flights")
    assert env.run(TEACHER).startswith("No turns left (the limit is 2)")
    assert env.get_reward() == 0.0
    env.reset(**row, max_turns=5, max_rows=5_000)
    text = env.run("big = flights | join flights on carrier")  # millions of rows
    assert text.startswith("The program failed:") and "too-many-rows" in text
    assert "answer" in env.run(TEACHER) and env.get_reward() == 1.0
    env.reset(**row, timeout=1e-6)
    assert "timeout" in env.run(TEACHER)
    env = CsvdslEnv(timeout=1e-6)
    env.reset(**row)
    assert "timeout" in env.run(TEACHER)


def test_a_fresh_reset_forgets_the_last_rollout(row):
    env = CsvdslEnv()
    env.reset(**row)
    env.run(TEACHER)
    env.reset(**row)
    assert env.get_reward() == 0.0
    assert "unknown" in env.run("answer late.n").lower() or "failed" in env.run("answer late.n")


def test_the_tool_is_described_by_its_docstring():
    doc = inspect.getdoc(CsvdslEnv.run)
    assert "Args:\n    program:" in doc and "Returns:" in doc
    assert inspect.signature(CsvdslEnv.run).parameters["program"].annotation in (str, "str")
    public = [n for n, _ in inspect.getmembers(CsvdslEnv, inspect.isfunction) if not n.startswith("_")]
    assert sorted(public) == ["get_reward", "reset", "run"]  # TRL exposes every other public method as a tool


def test_the_environment_prompt_asks_for_the_tool(row):
    prompt = environment_prompt(row)
    assert [m["role"] for m in prompt] == ["system", "user"] and prompt[1]["content"] == ""
    assert "`run` tool" in prompt[0]["content"] and "- flights:" in prompt[0]["content"]
