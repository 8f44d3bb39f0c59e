"""GRPO rewards for 64 completions on a 10,000-row table, with the shared Engine (cache on) and
without it (every completion run afresh, tables already loaded); scored in this process, in
one supervised worker and in the pool of supervised workers (the default), the three taken in
turn batch after batch so that other work on the machine weighs on each alike; and verify
latency for a pair of 20-node plans."""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import flights_10k, median_seconds, report

from csvdsl.engine import Engine
from verifier import rewards
from verifier.pool import WorkerPool, default_workers
from verifier.report import verify

PROMPTS = [
    ('d = flights | filter dep_delay > {k} and origin in ["JFK", "LGA"]\nt = d | group carrier aggregate n = count() | sort n desc, carrier | take 3\nanswer t.carrier', [30, 45, 60, 60]),
    ("d = flights | filter day == {k} | group origin aggregate m = mean(arr_delay) | sort m desc | take 1\nanswer d.origin", [1, 2, 6, 6]),
    ("a = flights | aggregate m = mean(distance)\nd = flights | filter distance > a.m and air_time > {k} | aggregate n = count()\nanswer d.n", [100, 120, 200, 200]),
    ('d = flights | derive gain = dep_delay - arr_delay | filter carrier == "UA" | aggregate g = median(gain), x = max(gain) | derive y = g + {k}\nanswer d.y', [0, 1, 2, 2]),
]


def batch():
    """8 prompts x 8 completions: students often repeat each other (and the teacher)."""
    completions, teachers = [], []
    for template, constants in PROMPTS * 2:
        teacher = template.format(k=constants[-1])
        for i in range(8):
            completions.append("```csvdsl\n" + template.format(k=constants[i % len(constants)]) + "\n```")
            teachers.append(teacher)
    return completions, teachers


def main(directory: Path):
    small = flights_10k(directory)
    tables = json.dumps({"flights": str(small)})
    completions, teachers = batch()
    engine = Engine({"flights": small})
    answers = [json.dumps({"type": e.answer.kind, "value": e.answer.value}) for e in (engine.run(t) for t in teachers)]
    columns = {"answer": answers, "program": teachers, "tables": [tables] * len(completions)}

    def all_rewards():
        for reward in rewards.REWARDS:
            reward(prompts=[""] * len(completions), completions=completions, **columns)

    def forget():
        """Every batch is new: no run, suite (the teacher's answers on the variants) or hook is
        known yet. The tables and their variants are made once per process, as in training."""
        rewards.clear_caches()

    def shared():
        forget()
        all_rewards()

    def unshared():  # a fresh, cache-less Engine per program: nothing computed is reused
        forget()
        original = rewards._run
        rewards._run = lambda key, engine_, program, like=None: rewards.run_untrusted(Engine(engine_.catalog, cache_bytes=0), program)
        try:
            all_rewards()
        finally:
            rewards._run = original

    rewards.supervise(False)
    with_engine = median_seconds(shared, repeat=5, warmup=1)
    without = median_seconds(unshared, repeat=5, warmup=1)
    report("4 rewards x 64 completions, 10,000 rows", with_engine, without, "no shared Engine")
    print(f"{'':46} {len(completions) / with_engine:,.0f} completions/s with the Engine, "
          f"{len(completions) / without:,.0f} without ({without / with_engine:.2f}x)")

    # In process, in one worker, in the pool: one batch each in turn, each supervised mode with
    # a pool of its own (supervise() would replace the pool). CPU time counts this process and
    # the workers.
    size = int(sys.argv[2]) if len(sys.argv) > 2 else default_workers()
    pools = {}
    for workers in (1, size):
        rewards.supervise(True, workers=workers)
        rewards._SUPERVISION.pool = pools[workers] = WorkerPool(workers)
        shared()  # each worker loads the tables and their variants
    modes = {"in process": (False, size), "1 worker": (True, 1), f"pool of {size}": (True, size)}
    timings = {mode: [] for mode in modes}
    for round_ in range(16):
        for mode, (on, workers) in modes.items():
            rewards._SUPERVISION.on, rewards._SUPERVISION.workers = on, workers
            rewards._SUPERVISION.pool = pools[workers] if on else None
            wall, cpu = time.perf_counter(), _cpu_seconds()
            shared()
            if round_:  # the first round warms the caches that outlive a batch (plans, fingerprints)
                timings[mode].append((time.perf_counter() - wall, _cpu_seconds() - cpu))
    for workers in pools.values():
        workers.close()
    rewards._SUPERVISION.pool = None
    rewards.supervise(True)
    print(f"4 rewards x 64 completions, {len(timings['1 worker'])} batches each, taken in turn "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    rates = {}
    for mode, times in timings.items():
        rates[mode] = statistics.median(len(completions) / wall for wall, _ in times)
        per_cpu = statistics.median(len(completions) / cpu for _, cpu in times)
        print(f"  {mode:<12} {rates[mode]:8,.0f} completions/s   {per_cpu:8,.0f} per CPU second (all processes)")
    print(f"  pool / 1 worker {rates[f'pool of {size}'] / rates['1 worker']:.2f}x, "
          f"pool / in process {rates[f'pool of {size}'] / rates['in process']:.2f}x")

    teacher = "\n".join(["s0 = flights | filter dep_delay > 0"] + [
        f"s{i} = s{i - 1} | derive c{i} = dep_delay * {i}" if i % 2 else f"s{i} = s{i - 1} | filter c{i - 1} > {i}" for i in range(1, 17)
    ] + ["g = s16 | group carrier aggregate n = count() | sort n desc | take 1", "answer g.carrier"])
    student = teacher.replace("dep_delay * 5", "dep_delay * 6")
    nodes = engine.run(teacher).plan.graph.number_of_nodes()
    latency = median_seconds(lambda: verify(teacher, student, engine), repeat=20, warmup=2)
    report(f"verify, {nodes}-node plans (shared Engine)", latency)


def _cpu_seconds() -> float:
    """CPU time of this process and of its live children (the workers), from /proc where there is one."""
    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return total
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/children") as children:
                pids = children.read().split()
        except OSError:
            continue
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            except (OSError, IndexError, ValueError):
                continue
    return total


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] else Path(tempfile.gettempdir()) / "csvdsl-bench")
