"""The model teacher and the students, against a scripted local OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from csvdsl.models.llm import ModelClient
from csvdsl.pipeline.students import label, solve_tasks
from csvdsl.pipeline.teacher import generate_with_model, parse_tasks
from csvdsl.testing.server import Fail, ScriptedServer

PEOPLE = str(Path(__file__).parent / "data" / "people.csv")
GOOD = 'london = people | filter city == "London" | aggregate n = count()\nanswer london.n'
BROKEN = "x = people | filter cty == 1\nanswer x.name"
WRITING = f"""Here are two tasks. The first one's answer is 5.

### Task
Question: How many people live in London?
Hint: Keep the people whose city is London, then count them.
```csvdsl
{GOOD}
```

### Task
Question: Who lives in city 1?
```csvdsl
{BROKEN}
```
"""
REPAIR = f"### Task\nQuestion: Who lives in city 1?\n```csvdsl\n{BROKEN.replace('cty', 'town')}\n```"


def teacher_replies(request):
    last = request.last_user
    if last.startswith("Now write"):
        return WRITING
    if "corrected task blocks" in last:
        return REPAIR
    return "```csvdsl\ndescribe people\n```"


def client(server, tmp_path, **options):
    return ModelClient("teacher-model", base_url=server.url, api_key="x", cache_dir=tmp_path / "cache",
                       backoff=0.01, **options)


def generate(server, out, tmp_path):
    return asyncio.run(generate_with_model([PEOPLE], out, 2, 0, client(server, tmp_path), explore_turns=1))


def test_parse_tasks_ignores_text_outside_blocks():
    blocks = parse_tasks(WRITING)
    assert [b.question for b in blocks] == ["How many people live in London?", "Who lives in city 1?"]
    assert blocks[0].hint == "Keep the people whose city is London, then count them." and blocks[1].hint == ""
    assert blocks[0].program == GOOD


def test_teacher_keeps_the_computed_answer_and_rejects_a_broken_program_after_one_repair(tmp_path):
    out = tmp_path / "out"
    with ScriptedServer(teacher_replies) as server:
        summary = generate(server, out, tmp_path)
        paths = [r.path for r in server.requests]
    assert len(paths) == 3  # one exploration turn, the tasks, one repair
    [record] = [json.loads(line) for line in (out / "tasks.jsonl").read_text().splitlines()]
    assert record["answer"] == {"type": "number", "value": 2}  # computed; the prose claimed 5
    assert record["origin"]["teacher"] == "teacher-model" and record["hint"].startswith("Keep the people")
    assert summary.rejected == {"fails:unknown-column": 1}
    conversation = json.loads((out / "teacher.jsonl").read_text())
    assert conversation["rejected"] == {"fails:unknown-column": 1}
    assert [m["role"] for m in conversation["messages"]][-4:] == ["user", "assistant", "user", "assistant"]
    assert "no column named `cty`" in conversation["messages"][-2]["content"]
    with ScriptedServer(teacher_replies) as server:  # a second full run asks nothing
        generate(server, out, tmp_path)
        assert len(server.requests) == 0
    assert len((out / "tasks.jsonl").read_text().splitlines()) == 1


def test_a_missing_hint_is_the_plans_english(tmp_path):
    out = tmp_path / "out"
    writing = WRITING.replace("Hint: Keep the people whose city is London, then count them.\n", "")
    with ScriptedServer(lambda r: writing if r.last_user.startswith("Now write") else teacher_replies(r)) as server:
        generate(server, out, tmp_path)
    record = json.loads((out / "tasks.jsonl").read_text().splitlines()[0])
    assert "London" in record["hint"] and record["hint"] != ""


def students(answers):
    """Hinted attempts answer right; the others play ``answers`` in turn."""
    turn = itertools.cycle(answers)
    lock = threading.Lock()

    def reply(request):
        if "Hint:" in request.last_user:
            return f"```csvdsl\n{GOOD}\n```"
        with lock:
            return f"```csvdsl\n{next(turn)}\n```"

    return reply


def task_dir(tmp_path) -> Path:
    out = tmp_path / "out"
    with ScriptedServer(teacher_replies) as server:
        generate(server, out, tmp_path / "t")
    return out


def solve(out, server, tmp_path, n=4, cache=True):
    model = ModelClient("student", base_url=server.url, api_key="x", backoff=0.01,
                        cache_dir=(tmp_path / "scache") if cache else None)
    return asyncio.run(solve_tasks(out, model, n=n, hint_attempts=1))


def test_three_of_four_students_right_is_verified_at_075(tmp_path):
    out = task_dir(tmp_path)
    wrong = 'x = people | aggregate n = count()\nanswer x.n'
    with ScriptedServer(students([GOOD, GOOD, wrong, GOOD])) as server:
        counts = solve(out, server, tmp_path)
        assert len(server.requests) == 5
    [entry] = [json.loads(line) for line in (out / "labels.jsonl").read_text().splitlines()]
    assert entry["pass_rate"] == 0.75 and entry["pass_rate_hint"] == 1.0
    assert entry["status"] == "verified" and entry["difficulty"] == "easy" and counts == {"verified": 1}
    attempts = [json.loads(line) for line in (out / "solutions.jsonl").read_text().splitlines()]
    assert len({a["key"] for a in attempts}) == 5
    right = next(a for a in attempts if a["correct"])
    assert right["similarity"] == 1.0 and right["hook_coverage"] == 1.0 and right["messages"][0]["role"] == "system"
    with ScriptedServer(students([GOOD])) as server:  # a second full run asks nothing
        solve(out, server, tmp_path)
        assert len(server.requests) == 0
    assert len((out / "solutions.jsonl").read_text().splitlines()) == 5


def test_students_agreeing_on_another_answer_make_the_task_suspect(tmp_path):
    out = task_dir(tmp_path)
    other = 'x = people | aggregate n = count()\nanswer x.n'  # 6, not 2
    with ScriptedServer(students([other])) as server:
        counts = solve(out, server, tmp_path)
    entry = json.loads((out / "labels.jsonl").read_text())
    assert entry["status"] == "suspect" and entry["pass_rate"] == 0.0 and counts == {"suspect": 1}


def test_labels():
    right, wrong = {"hint": False, "correct": True, "answer": {"type": "number", "value": 1}}, \
        {"hint": False, "correct": False, "answer": {"type": "number", "value": 2}}
    hinted = {"hint": True, "correct": True, "answer": {"type": "number", "value": 1}}
    assert label([hinted, wrong | {"answer": None}, wrong | {"answer": {"type": "number", "value": 3}}])["status"] == "hint-only"
    assert label([wrong | {"answer": None}])["status"] == "unsolved"
    assert label([right, wrong, wrong | {"answer": {"type": "number", "value": 9}}])["status"] == "verified"
    assert label([right, wrong, wrong])["status"] == "suspect"  # two of three agree on another answer
    assert label([right, right, wrong])["status"] == "verified"
    assert label([wrong, wrong, right])["difficulty"] == "medium"


def settled(server: ScriptedServer, quiet: float = 1.0) -> int:
    """How many requests the server has had, once none has come for ``quiet`` seconds: a
    request the killed process sent just before the kill can still be on its way."""
    count, since = len(server.requests), time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(0.05)
        if len(server.requests) != count:
            count, since = len(server.requests), time.monotonic()
    return count


def test_a_killed_solve_resumes_without_duplicates(tmp_path):
    out = task_dir(tmp_path)
    with ScriptedServer(students([GOOD]), latency=0.3) as server:
        command = [sys.executable, "-m", "csvdsl", "solve", str(out), "--model", "s", "--base-url", server.url,
                   "--n", "12", "--concurrency", "2", "--no-cache"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        solutions = out / "solutions.jsonl"
        deadline = time.time() + 60
        while time.time() < deadline and (not solutions.exists() or len(solutions.read_text().splitlines()) < 3):
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        before = len(solutions.read_text().splitlines())
        asked = settled(server)
        assert 3 <= before < 13
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "verified 1" in done.stdout
        # Only the attempts not on disk were asked again (those in flight at the kill, at most 2).
        assert len(server.requests) - asked == 13 - before
    keys = [json.loads(line)["key"] for line in solutions.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == 13


def test_export_after_solving(tmp_path):
    from csvdsl.pipeline.export import export

    out = task_dir(tmp_path)
    wrong = 'x = people | aggregate n = count()\nanswer x.n'
    with ScriptedServer(students([GOOD, GOOD, wrong, GOOD])) as server:
        solve(out, server, tmp_path)
    counts = export(out, tmp_path / "sft.jsonl", tmp_path / "rl.jsonl", tmp_path / "hf")
    sft = [json.loads(line) for line in (tmp_path / "sft.jsonl").read_text().splitlines()]
    assert [row["source"] for row in sft] == ["teacher", "student"]  # the shortest correct trace only
    [rl] = [json.loads(line) for line in (tmp_path / "rl.jsonl").read_text().splitlines()]
    assert rl["pass_rate"] == 0.75 and rl["status"] == "verified" and counts["review"] == 0
    assert export(out, tmp_path / "all.jsonl", all_traces=True)["sft"] == 4  # the teacher's and three students'
    assert export(out, rl=tmp_path / "none.jsonl", pass_range=(0.8, 1.0))["rl"] == 0


def test_suspect_tasks_are_never_exported(tmp_path):
    from csvdsl.pipeline.export import export

    out = task_dir(tmp_path)
    with ScriptedServer(students(['x = people | aggregate n = count()\nanswer x.n'])) as server:
        solve(out, server, tmp_path)
    counts = export(out, tmp_path / "sft.jsonl", tmp_path / "rl.jsonl")
    assert {k: counts[k] for k in ("records", "sft", "rl", "review")} == {"records": 0, "sft": 0, "rl": 0, "review": 1}
    [review] = [json.loads(line) for line in (out / "review.jsonl").read_text().splitlines()]
    assert review["status"] == "suspect" and review["question"] == "How many people live in London?"


def test_generate_with_a_model_teacher_from_the_command_line(tmp_path):
    out = tmp_path / "out"
    with ScriptedServer(teacher_replies) as server:
        done = subprocess.run([sys.executable, "-m", "csvdsl", "generate", PEOPLE, "--out", str(out), "--teacher", "model",
                               "--model", "teacher-model", "--base-url", server.url, "--explore-turns", "1",
                               "--per-table", "2"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert len(server.requests) == 3
    assert "fails:unknown-column" in done.stdout and "teacher-model: 3 requests" in done.stderr
    assert (out / "cache").is_dir() and len((out / "tasks.jsonl").read_text().splitlines()) == 1
    [usage] = [json.loads(line) for line in (out / "usage.jsonl").read_text().splitlines()]
    assert usage["command"] == "generate" and usage["requests"] == 3
    missing = subprocess.run([sys.executable, "-m", "csvdsl", "generate", PEOPLE, "--out", str(out), "--teacher", "model"],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "--teacher model needs --model" in missing.stderr


def test_a_failing_worker_stops_solve_at_once_and_labels_what_is_done(tmp_path):
    from csvdsl.models.llm import ModelError

    out = task_dir(tmp_path)
    script = [f"```csvdsl\n{GOOD}\n```"] * 3 + [Fail(401, message="bad key")]
    with ScriptedServer(script) as server:
        model = ModelClient("student", base_url=server.url, api_key="x", concurrency=1, backoff=0.01)
        with pytest.raises(ModelError) as error:  # and no hang: the producer is cancelled with the workers
            asyncio.run(asyncio.wait_for(solve_tasks(out, model, n=12, hint_attempts=1), timeout=60))
        assert len(server.requests) <= 5  # stopped at the first 401, not after all 13 attempts
    assert error.value.code == "model-http-401"
    written = len((out / "solutions.jsonl").read_text().splitlines())
    entry = json.loads((out / "labels.jsonl").read_text())
    assert 1 <= written <= 3 and entry["attempts"] + entry["hint_attempts"] == written


def test_a_request_error_is_that_attempts_result(tmp_path):
    out = task_dir(tmp_path)
    replies = [Fail(400, message="context too long")] + [f"```csvdsl\n{GOOD}\n```"]
    with ScriptedServer(replies) as server:
        counts = solve(out, server, tmp_path, n=3, cache=False)
    attempts = [json.loads(line) for line in (out / "solutions.jsonl").read_text().splitlines()]
    [failed] = [a for a in attempts if a["stop"] == "error"]
    assert failed["error"]["code"] == "model-http-400" and not failed["correct"] and len(attempts) == 4
    assert counts == {"verified": 1}


def test_a_constrained_teacher_writes_its_tasks_in_prose(tmp_path):
    out = tmp_path / "out"
    with ScriptedServer(lambda r: teacher_replies(r).replace("```csvdsl\ndescribe people\n```", "describe people")) as server:
        asyncio.run(generate_with_model([PEOPLE], out, 2, 0, client(server, tmp_path, constrain="vllm"), explore_turns=1))
        bodies = [r.body for r in server.requests]
    assert "structured_outputs" in bodies[0]  # exploring: programs, constrained
    assert all("structured_outputs" not in b for b in bodies[1:])  # the task list and the repair: prose
    assert len((out / "tasks.jsonl").read_text().splitlines()) == 1


def test_a_resumed_teacher_keeps_its_counts(tmp_path):
    out = tmp_path / "out"
    with ScriptedServer(teacher_replies) as server:
        first = generate(server, out, tmp_path)
    with ScriptedServer(teacher_replies) as server:
        again = generate(server, out, tmp_path)
        assert len(server.requests) == 0
    assert again.tasks == first.tasks == {"people": 1} and again.rejected == first.rejected and again.resumed == 1
