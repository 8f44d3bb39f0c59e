"""Imported questions solved, exported and evaluated end to end, as a user runs them (the
command line, real files, exit codes), against the scripted OpenAI-compatible server."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from math import comb
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import csvdsl as _csvdsl
from csvdsl.pipeline.evaluation import pass_at_k
from csvdsl.testing.server import ScriptedServer
from verifier.gold import match_gold

FIXTURES = Path(__file__).parent / "fixtures" / "import"
WTQ = FIXTURES / "wtq" / "data" / "pristine-unseen-tables.tsv"

SHORT = "top = t204_1 | sort Gold desc | take 1\nanswer top.Nation"
LONG = "# the nation with the most gold medals\nbest = t204_1 | sort Gold desc | take 1\nanswer best.Nation"
WRONG = "x = t204_1 | sort Gold | take 1\nanswer x.Nation"
MORE_THAN_5 = "n = t204_1 | filter Gold > 5 | aggregate n = count()\nanswer n.n"  # 2; the gold says 3 (more than 4)
MORE_THAN_4 = "n = t204_1 | filter Gold > 4 | aggregate n = count()\nanswer n.n"
SILVER = "s = t204_1 | filter Silver < 6\nanswer s.Nation"
SILVER_WRONG = "s = t204_1 | filter Silver < 5\nanswer s.Nation"
TALLEST = 'h = t204_2 | filter City == "Lisbon" | aggregate h = max(`Height (m)`)\nanswer h.h'

STUDENTS = {  # question -> the replies students give, in turn
    "most gold medals": [LONG, SHORT, WRONG, LONG],  # 3 of 4 right; SHORT is the shortest right one
    "more than 4 gold": [MORE_THAN_5],  # all 4 contradict the gold answer the same way
    "fewer than 6 silver": [SILVER],
    "tallest building": ["I am not sure."],  # never a program
}
EVALUEE = {  # the evaluated model: one wrong answer, the first time it sees the silver question
    "most gold medals": [SHORT], "more than 4 gold": [MORE_THAN_4], "fewer than 6 silver": [SILVER_WRONG, SILVER],
    "tallest building": [TALLEST],
}


def scripted(scripts: dict[str, list[str]]):
    """Replies by question: each question's replies played in turn, the last one repeating."""
    turns = {key: itertools.count() for key in scripts}
    lock = threading.Lock()

    def reply(request):
        question = request.messages[1]["content"]
        for key, replies in scripts.items():
            if key in question:
                with lock:
                    turn = next(turns[key])
                text = replies[min(turn, len(replies) - 1)]
                return f"```csvdsl\n{text}\n```" if "=" in text else text
        return "no idea"

    return reply


csvdsl = partial(_csvdsl, timeout=180)  # an evaluation runs a model over every task: longer than the default


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_wtq_import_solve_export_eval(tmp_path):
    out = tmp_path / "wtq"
    done = csvdsl("import", "wtq", str(WTQ), "--out", str(out))
    assert done.returncode == 0, done.stderr

    with ScriptedServer(scripted(STUDENTS)) as server:
        done = csvdsl("solve", str(out), "--model", "student", "--base-url", server.url, "--n", "4",
                      "--max-turns", "2", "--no-cache")
        assert done.returncode == 0, done.stderr
        # No hint came with these questions: no hinted attempts. 4 attempts a task, 2 turns for the one without a program.
        assert len(server.requests) == 4 * 3 + 4 * 2
    assert "verified 2" in done.stdout and "unsolved 1" in done.stdout and "gold-suspect 1" in done.stdout
    labels = {entry["question"]: entry for entry in lines(out / "labels.jsonl")}
    most = labels["which nation won the most gold medals?"]
    assert most["status"] == "verified" and most["pass_rate"] == 0.75 and most["hint_attempts"] == 0
    assert labels["how many nations won more than 4 gold medals?"]["status"] == "gold-suspect"
    assert labels["what is the height of the tallest building in lisbon?"]["status"] == "unsolved"
    tasks = {t["question"]: t for t in lines(out / "tasks.jsonl")}
    verified = tasks["which nation won the most gold medals?"]
    assert verified["program"] == SHORT + "\n"  # the shortest correct program
    assert verified["hint"].startswith("1. Start from the t204_1 table.") and verified["plan"]["nodes"]
    assert verified["answer"] == {"type": "string", "value": "United States"}  # computed, and matching the gold
    assert verified["conversation"][-1]["content"] == f"```csvdsl\n{SHORT}\n```"
    assert verified["difficulty"]["operations"] == 2 and verified["gold"]["texts"] == ["United States"]
    assert tasks["how many nations won more than 4 gold medals?"]["program"] == ""

    done = csvdsl("export", str(out), "--sft", str(tmp_path / "sft.jsonl"), "--rl", str(tmp_path / "rl.jsonl"))
    assert done.returncode == 0, done.stderr
    assert "2 tasks exported" in done.stdout and "1 suspect tasks left out" in done.stdout
    sft = lines(tmp_path / "sft.jsonl")
    assert sorted(row["source"] for row in sft) == ["student", "student", "teacher", "teacher"]
    rl = {row["program"]: row for row in lines(tmp_path / "rl.jsonl")}
    assert list(rl) == [SHORT + "\n"]  # the silver task's pass rate, 1, is outside RL's default (0, 1)
    assert rl[SHORT + "\n"]["pass_rate"] == 0.75 and rl[SHORT + "\n"]["status"] == "verified"
    [review] = lines(out / "review.jsonl")
    assert review["status"] == "gold-suspect"

    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"evaluee": {"input": 1.0, "output": 2.0}}))
    with ScriptedServer(scripted(EVALUEE)) as server:
        common = ["--model", "evaluee", "--base-url", server.url, "--prices", str(prices), "--concurrency", "1"]
        first = csvdsl("eval", str(out), *common)
        assert first.returncode == 0, first.stderr
        assert len(server.requests) == 4
        report = json.loads((out / "eval" / "evaluee" / "eval.json").read_text())
        assert report["accuracy"] == 0.75 and report["official"] == {"name": "denotation accuracy", "value": 0.75}
        assert report["by_source"]["wtq:pristine-unseen-tables"]["accuracy"] == 0.75
        assert "| all | 4 | 75.0% | denotation accuracy 75.0% |" in first.stdout

        more = csvdsl("eval", str(out), *common, "--samples", "3", "--plot", str(tmp_path / "eval.png"))
        assert more.returncode == 0, more.stderr
        assert len(server.requests) == 4 + 8  # only samples 1 and 2 were asked for
        report = json.loads((out / "eval" / "evaluee" / "eval.json").read_text())
        assert report["accuracy"] == pytest.approx((1 + 1 + 2 / 3 + 1) / 4)
        assert report["pass_at_k"] == {"1": pytest.approx(report["accuracy"]), "2": 1.0, "3": 1.0}
        assert report["official"]["value"] == 0.75  # one answer per question: sample 0's
        assert report["mean_turns"] == 1.0 and report["attempts"] == 12
        tokens_in, tokens_out = report["prompt_tokens"], report["completion_tokens"]
        assert report["cost"] == pytest.approx((tokens_in * 1.0 + tokens_out * 2.0) / 1e6)
        assert tokens_in > 0 and report["mean_prompt_tokens"] == pytest.approx(tokens_in / 12)
        assert set(report["by_difficulty"]) == {"easy", "unknown"}  # verified tasks took their plan's level
        assert (tmp_path / "eval.png").read_bytes()[:4] == b"\x89PNG"
        assert (out / "eval" / "evaluee" / "eval.md").read_text() == more.stdout

        again = csvdsl("eval", str(out), *common, "--samples", "3")
        assert again.returncode == 0 and len(server.requests) == 12  # a second run makes no request
        assert again.stdout == more.stdout


CASES = {
    "tabfact": (FIXTURES / "tabfact" / "collected_data" / "r1_training_all.json", {
        "carla dias scored": ['top = t2_10000_1 | sort goals desc | take 1 | derive ok = player == "carla dias"\nanswer top.ok'],
        "scored 20 goals": ['p = t2_10000_1 | filter team == "porto" | aggregate g = sum(goals) | derive ok = g == 20\nanswer p.ok'],
        "bruno reis": ['b = t2_10000_1 | filter player == "bruno reis" | derive ok = games == 28\nanswer b.ok'],
        "more games in 2020": ["w = t2_10001_2 | sort season desc | take 1 | derive ok = wins > 10\nanswer w.ok"],
    }, "label accuracy", 4),
    "dabench": (FIXTURES / "dabench" / "data" / "da-dev-questions.jsonl", {
        "mean score": ["s = scores | aggregate mean_score = round(mean(score), 2)\nanswer s"],
        "youngest": ["s = scores | aggregate min_age = min(age), max_score = max(score)\nanswer s"],
    }, "accuracy by question", 2),
    "jsonl": (FIXTURES / "jsonl" / "questions.jsonl", {
        "north region": ['n = sales | filter region == "north" | aggregate u = sum(units)\nanswer n.u'],
        "more than 10 units": ["r = sales | filter units > 10 | distinct region\nanswer r.region"],
        "fewer units in February": ['x = sales | filter region == "south" | sort month desc | take 1 | derive f = units < 8\nanswer x.f'],
    }, "accuracy", 3),
}


@pytest.mark.parametrize("fmt", CASES)
def test_each_format_end_to_end(tmp_path, fmt):
    source, script, metric, count = CASES[fmt]
    out = tmp_path / fmt
    assert csvdsl("import", fmt, str(source), "--out", str(out)).returncode == 0
    with ScriptedServer(scripted(script)) as server:
        done = csvdsl("solve", str(out), "--model", "student", "--base-url", server.url, "--n", "2", "--no-cache")
        assert done.returncode == 0, done.stderr
        assert f"verified {count}" in done.stdout
        assert all(t["program"] for t in lines(out / "tasks.jsonl"))
        assert csvdsl("export", str(out), "--sft", str(tmp_path / "sft.jsonl")).returncode == 0
        assert len(lines(tmp_path / "sft.jsonl")) == 2 * count  # the program's and one student's trace per task
        done = csvdsl("eval", str(out), "--model", "student", "--base-url", server.url, "--samples", "2", "--no-cache")
        assert done.returncode == 0, done.stderr
    report = json.loads((out / "eval" / "student" / "eval.json").read_text())
    assert report["accuracy"] == 1.0 and report["tasks"] == count
    [source_figures] = report["by_source"].values()
    assert source_figures["official"] == {"name": metric, "value": 1.0}


def _kill_midway(command: list[str], written: Path, at_least: int) -> int:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and (not written.exists() or len(written.read_text().splitlines()) < at_least):
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return len(written.read_text().splitlines())


@pytest.mark.parametrize("command", ["eval", "solve"])
def test_a_sigkill_loses_no_finished_work(tmp_path, command):
    out = tmp_path / "wtq"
    assert csvdsl("import", "wtq", str(WTQ), "--out", str(out)).returncode == 0
    with ScriptedServer(scripted(EVALUEE), latency=0.2) as server:
        count = ["--samples", "6"] if command == "eval" else ["--n", "6"]
        argv = [sys.executable, "-m", "csvdsl", command, str(out), "--model", "m", "--base-url", server.url,
                "--concurrency", "2", "--no-cache", *count]
        written = out / "eval" / "m" / "attempts.jsonl" if command == "eval" else out / "solutions.jsonl"
        before = _kill_midway(argv, written, 3)
        asked = len(server.requests)
        assert 3 <= before < 24
        done = subprocess.run(argv, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        # Only what was not on disk was asked again (the attempts in flight at the kill, at most 4).
        assert len(server.requests) - asked == 24 - before
    keys = [row["key"] for row in lines(written)]
    assert len(keys) == len(set(keys)) == 24
    if command == "solve":
        assert sum(bool(t["program"]) for t in lines(out / "tasks.jsonl")) == 4  # every task got its program
    else:
        assert json.loads((out / "eval" / "m" / "eval.json").read_text())["missing_attempts"] == 0


def test_eval_needs_a_task_folder(tmp_path):
    done = csvdsl("eval", str(tmp_path), "--model", "m", "--base-url", "http://127.0.0.1:9/v1")
    assert done.returncode == 2 and "no tasks.jsonl" in done.stderr


@given(st.integers(1, 8).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_is_the_chance_that_k_of_n_samples_hold_a_correct_one(case):
    n, c, k = case
    subsets = list(itertools.combinations(range(n), k))
    exact = sum(any(i < c for i in subset) for subset in subsets) / comb(n, k)
    assert pass_at_k(n, c, k) == pytest.approx(exact)


@pytest.mark.parametrize("mode", ["typed", "rounded"])
def test_an_empty_gold_record_matches_nothing(mode):
    answer = {"type": "record", "value": {"n": {"type": "number", "value": 6}}}
    verdict = match_gold({"type": "record", "value": {}}, answer, mode)
    assert verdict.score == 0.0 and "no parts" in verdict.reason


def test_eval_of_a_task_imported_with_an_empty_answer_does_not_crash(tmp_path):
    """Import refuses an empty answer now; a folder imported before still solves and evaluates."""
    out = tmp_path / "out"
    assert csvdsl("import", "jsonl", str(FIXTURES / "jsonl" / "questions.jsonl"), "--out", str(out)).returncode == 0
    tasks = lines(out / "tasks.jsonl")
    for task in tasks:
        task["answer"] = task["gold"]["answer"] = {"type": "record", "value": {}}
    (out / "tasks.jsonl").write_text("".join(json.dumps(task) + "\n" for task in tasks))
    reply = "```csvdsl\nt = sales | aggregate n = count()\nanswer t\n```"
    with ScriptedServer(lambda request: reply) as server:
        for command in ("solve", "eval"):
            done = csvdsl(command, str(out), "--model", "m", "--base-url", server.url, "--max-turns", "1", "--no-cache")
            assert done.returncode == 0 and "Traceback" not in done.stderr and "internal" not in done.stderr, done.stderr


def test_eval_of_generated_tasks_scores_against_the_teachers_answer(tmp_path):
    out = tmp_path / "gen"
    people = Path(__file__).parent / "data" / "people.csv"
    assert csvdsl("generate", str(people), "--out", str(out), "--per-table", "4", "--quiet").returncode == 0
    tasks = lines(out / "tasks.jsonl")
    right = {t["question"]: t["program"] for t in tasks[:3]}  # the model gets three of the four right

    def model(request):
        question = request.messages[1]["content"].split("Question: ", 1)[1]
        return f"```csvdsl\n{right.get(question, 'answer 123456')}\n```"

    with ScriptedServer(model) as server:
        done = csvdsl("eval", str(out), "--model", "m", "--base-url", server.url, "--no-cache")
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "eval" / "m" / "eval.json").read_text())
    assert report["accuracy"] == 0.75 and list(report["by_source"]) == ["generated:synth"]
    assert report["by_source"]["generated:synth"]["official"]["name"] == "accuracy"


def test_one_eval_of_a_model_per_folder_and_repair(tmp_path):
    out = tmp_path / "wtq"
    assert csvdsl("import", "wtq", str(WTQ), "--out", str(out)).returncode == 0
    with ScriptedServer(scripted(EVALUEE), latency=0.5) as server:
        argv = ["eval", str(out), "--model", "m", "--base-url", server.url, "--no-cache", "--concurrency", "1"]
        first = subprocess.Popen([sys.executable, "-m", "csvdsl", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.time() + 60
            while time.time() < deadline and not server.requests:
                time.sleep(0.05)
            second = csvdsl(*argv)
            assert second.returncode == 1 and "is being written by another `csvdsl eval:m`" in second.stderr
            assert first.wait(timeout=120) == 0
        finally:
            first.kill()
        # A damaged line: a clear error, and --repair drops it (its attempt is made again).
        attempts = out / "eval" / "m" / "attempts.jsonl"
        kept = attempts.read_text().splitlines()
        attempts.write_text("\n".join(kept[:2] + [kept[2][:40]] + kept[3:]) + "\n")  # line 3 cut short
        damaged = csvdsl(*argv)
        assert damaged.returncode == 1 and "line 3" in damaged.stderr and "--repair" in damaged.stderr
        asked = len(server.requests)
        repaired = csvdsl(*argv, "--repair")
        assert repaired.returncode == 0, repaired.stderr
        assert len(server.requests) == asked + 1 and len(lines(attempts)) == 4  # that attempt, made again
