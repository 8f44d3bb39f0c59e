"""The rewards score a batch on a pool of supervised workers: the same scores as one worker
and as this process, in the batch's order; the completions of one prompt on one worker, the
same one for each of the four rewards; an overrun costs only its own completion."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from conftest import ROOT
from test_rewards import COMPLETIONS, TABLES, TEACHER, teacher_row

from verifier import pool, rewards

OTHER = 'd = flights | filter origin == "EWR" | group carrier aggregate n = count() | sort n desc, carrier | take 2\nanswer d.carrier'
OTHER_COMPLETIONS = [
    "```csvdsl\n" + OTHER + "\n```",
    ("```csvdsl\nx = flights | filter origin == \"EWR\" | group carrier aggregate k = count() | sort k desc, carrier | take 2\n"
     "answer x.carrier\n```"),                                                            # a rewrite
    "```csvdsl\nd = flights | group carrier aggregate n = count() | sort n desc | take 2\nanswer d.carrier\n```",  # wrong
    "```csvdsl\nanswer [\"UA\", \"EV\"]\n```",                                          # a literal
    "```csvdsl\nd = flights | filter origin ==\n```",                                   # does not parse
]
# Text conversion value by value over a 3,000 x 1,000 cross join: many seconds on any machine.
OVERRUN = ("```csvdsl\na = flights | select dep_delay\nb = flights | take 1000 | select arr_delay\n"
           "c = a | join cross b | derive s = concat(dep_delay * 1.5, arr_delay * 0.5) | aggregate n = count_distinct(s)\n"
           "answer c.n\n```")


def columns(batch: list[tuple[str, object]]) -> dict:
    """The dataset's columns for (teacher, completion) pairs, as TRL passes them."""
    rows = {teacher: teacher_row(teacher) for teacher in {teacher for teacher, _ in batch}}
    return {name: [rows[teacher][name] for teacher, _ in batch] for name in ("answer", "program", "tables")}


def score_all_rewards(batch) -> list[list[float | None]]:
    completions = [completion for _, completion in batch]
    return [reward(prompts=[""] * len(batch), completions=completions, **columns(batch)) for reward in rewards.REWARDS]


MIXED = [(TEACHER, c) for c in COMPLETIONS] + [(OTHER, c) for c in OTHER_COMPLETIONS]
# TRL puts a prompt's completions side by side; here they are interleaved too, which changes nothing.
SHUFFLED = [MIXED[i] for i in (0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5)]


def programs_in(worker) -> set:
    """The programs a worker's child has run on the task's own tables (its _RUNS cache)."""
    key = json.dumps(json.loads(TABLES), sort_keys=True)
    runs = worker.call(eval, "list(__import__('verifier.rewards', fromlist=['_RUNS'])._RUNS)")
    return {program for tables, program in runs if tables == key}


def restarts(supervision) -> list[int]:
    workers = supervision.pool.workers if supervision.pool is not None else [None] * supervision.workers
    return [0 if worker is None else worker.restarts for worker in workers]


@pytest.fixture
def two_workers():
    rewards.supervise(False)  # a new pool: no worker started yet
    rewards.supervise(True, timeout=1.0, workers=2)
    yield rewards._SUPERVISION
    rewards.supervise(True)


def test_a_batch_scores_the_same_in_the_pool_in_one_worker_and_in_process(two_workers):
    scores = {}
    for mode, (on, workers) in {"pool": (True, 2), "one worker": (True, 1), "in process": (False, None)}.items():
        rewards.supervise(on, timeout=30.0, workers=workers)
        rewards.clear_caches()
        scores[mode] = [score_all_rewards(MIXED), score_all_rewards(SHUFFLED)]
    assert scores["pool"] == scores["one worker"] == scores["in process"]
    answers = scores["pool"][0][0]
    assert answers == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0] + [1.0, 1.0, 0.0, 0.0, 0.0]
    shuffled = scores["pool"][1]
    assert all(row == [full[i] for i in (0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5)] for row, full in zip(shuffled, scores["pool"][0]))


def test_each_prompt_stays_on_one_worker_for_all_four_rewards_and_clear_caches_reaches_them(two_workers):
    rewards.clear_caches()
    # The prompts interleaved: a placement by position, or by the columns one reward reads
    # (format_reward reads no teacher), would put a completion elsewhere for another reward.
    first, second = [(TEACHER, c) for c in COMPLETIONS[:4]], [(OTHER, c) for c in OTHER_COMPLETIONS[:4]]
    batch = first[:2] + second[:2] + first[2:] + second[2:]
    completions = [c for _, c in batch]
    rewards.answer_reward(completions=completions, **columns(batch))
    workers = two_workers.pool.started()
    assert len(workers) == 2
    after_answer = [programs_in(worker) for worker in workers]
    teachers = [{program for program in runs if program in (TEACHER, OTHER)} for runs in after_answer]
    assert sorted(map(len, teachers)) == [1, 1] and teachers[0] != teachers[1]  # one prompt on each
    for reward in rewards.REWARDS[1:]:
        reward(completions=completions, **columns(batch))
    assert [programs_in(worker) for worker in workers] == after_answer  # nothing ran again, anywhere
    rewards.clear_caches()
    assert [programs_in(worker) for worker in workers] == [set(), set()]


def test_an_overrun_costs_its_own_completion_only_in_either_worker(two_workers):
    """The overrunning completion's worker is replaced and scores the rest of its share in a new
    child; the other worker goes on, and every other completion scores as it should."""
    first = [(TEACHER, c) for c in COMPLETIONS[:5]]
    first.insert(2, (TEACHER, OVERRUN))  # the larger prompt: the first worker's
    second = [(OTHER, c) for c in OTHER_COMPLETIONS]
    second.insert(2, (OTHER, OVERRUN))  # as large as the first prompt, and after it: the second worker's
    cases = [(first + [(OTHER, c) for c in OTHER_COMPLETIONS], 2, 0, [1.0, 1.0, 0.0, 1.0, 0.0, 0.0] + [1.0, 1.0, 0.0, 0.0, 0.0]),
             ([(TEACHER, c) for c in COMPLETIONS] + second, 8, 1, [1.0, 1.0, 1.0, 0.0, 0.0, 0.0] + [1.0, 1.0, 0.0, 0.0, 0.0, 0.0])]
    for batch, position, replaced, expected in cases:
        rewards.clear_caches()
        before = restarts(two_workers)
        started = time.monotonic()
        scores = rewards.answer_reward(completions=[c for _, c in batch], **columns(batch))
        assert time.monotonic() - started < 30
        assert scores == expected and scores[position] == 0.0
        after = restarts(two_workers)
        assert after[replaced] == before[replaced] + 1 and after[1 - replaced] == before[1 - replaced]


def test_a_small_batch_starts_one_worker(two_workers):
    assert rewards.format_reward(completions=["answer 1", "answer ("]) == [1.0, 0.0]
    assert len(two_workers.pool.started()) == 1


def test_units_keep_groups_together_largest_first():
    keys = ["a"] * 8 + ["b"] * 8 + ["c"] * 4 + ["d"] * 4 + ["a"] * 8
    runs, used = pool.units(keys, 2)
    assert used == 2 and runs == pool.units(list(keys), 2)[0]
    assert sorted(i for run in runs for i in run) == list(range(len(keys)))  # every item once
    assert all(len({keys[i] for i in run}) == 1 for run in runs)  # a run holds one prompt
    assert [len(run) for run in runs] == [16, 8, 4, 4]  # "a" is exactly a worker's share: whole
    assert pool.units(["a", "b", "c"], 4) == ([[0, 1, 2]], 1)  # fewer than 4 items a worker: one worker
    runs, used = pool.units(["a"] * 8 + ["b"] * 8, 4)
    assert used == 4 and [len(run) for run in runs] == [4, 4, 4, 4]  # big groups cut in even runs
    assert pool.units(["x"] * 10, 2) == ([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]], 2)
    assert pool.units([], 4) == ([], 1)


def test_the_first_call_hands_runs_to_the_free_worker_and_later_calls_keep_the_placement():
    """A costly prompt holds one worker while the other takes every other prompt; the rewards
    called after it on the same batch find each completion where it went."""
    workers = pool.WorkerPool(2)
    try:
        assert len(set(workers.map(eval, [(PID,), (PID,)], [0, 1]))) == 2  # both up before the timing starts
        keys = ["slow"] * 4 + ["a"] * 4 + ["b"] * 4 + ["c"] * 4
        items = [(f"__import__('time').sleep({1.0 if key == 'slow' else 0}) or {PID}",) for key in keys]
        results = workers.map_batch(eval, items, keys, "batch-1", timeout=30)
        first = {key: {pid for pid, k in zip(results, keys) if k == key} for key in set(keys)}
        assert all(len(pids) == 1 for pids in first.values())  # a prompt stays on one worker
        # While one worker sleeps through the slow prompt, the other takes all three others
        # (a placement by count would give it only one of them).
        assert first["a"] == first["b"] == first["c"] != first["slow"]
        again = workers.map_batch(eval, [(PID,)] * len(keys), keys, "batch-1", timeout=30)
        assert again == results  # the later call sends each item where the first did
    finally:
        workers.close()


PID = "__import__('os').getpid()"


def test_the_default_pool_size(monkeypatch):
    monkeypatch.delenv(pool.WORKERS_VARIABLE, raising=False)
    assert 1 <= pool.default_workers() <= pool.MAX_WORKERS
    monkeypatch.setenv(pool.WORKERS_VARIABLE, "3")
    assert pool.default_workers() == 3
    monkeypatch.setenv(pool.WORKERS_VARIABLE, "none")
    with pytest.raises(ValueError, match=pool.WORKERS_VARIABLE):
        pool.default_workers()
    with pytest.raises(ValueError, match="workers"):
        rewards.supervise(True, workers=0)


# Run in a fresh process, which owns its signals.
_CTRL_C = """
import json, os, signal, sys, threading, time
from verifier import pool

def ctrl_c():
    if sys.argv[1] == "process":
        os.kill(os.getpid(), signal.SIGINT)
    else:  # taken by another thread: the timer's own
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)

# A shell's background job (`make test &`) starts with SIGINT ignored, and Python then leaves it so.
signal.signal(signal.SIGINT, signal.default_int_handler)
workers = pool.WorkerPool(2)
timer = threading.Timer(1.0, ctrl_c)
report = {}
try:
    report["up"] = len(set(workers.map(eval, [(%r,), (%r,)], [0, 1])))
    keys = ["a"] * 4 + ["b"] * 4
    slow = [("__import__('time').sleep(5)",)] * len(keys)  # 20 s a worker, uninterrupted
    started = time.monotonic()
    timer.start()
    try:
        workers.map_batch(eval, slow, keys, "slow", timeout=60)
        report["interrupted"] = False
    except KeyboardInterrupt:
        report["interrupted"] = True
    report["stopped"] = time.monotonic() - started
    report["after"] = workers.map_batch(eval, [("6 * 7",)] * len(keys), keys, "after", timeout=60)
    report["again"] = time.monotonic() - started
    report["flags"] = [worker.interrupted for worker in workers.started()]
finally:
    timer.cancel()
    workers.close()
print(json.dumps(report))
""" % (PID, PID)


@pytest.mark.parametrize("where", ["process", "thread"], ids=["to the process", "taken by another thread"])
def test_ctrl_c_while_the_pool_scores_stops_every_worker_at_once(where):
    """Ctrl-C reaches only the thread that waits; the pool then kills each worker's child and
    sends nothing more, so no thread goes on scoring behind the interrupted call (the next
    call would wait for it), and the pool works afterwards. Linux may hand the signal to any
    thread: the waiting thread must still see it at once."""
    done = subprocess.run([sys.executable, "-c", _CTRL_C, where], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["up"] == 2 and report["interrupted"] and report["stopped"] < 5
    assert report["after"] == [42] * 8 and report["again"] < 12  # new children, not the rest of the 20 s
    assert not any(report["flags"])
