"""The model pipeline end to end against a local OpenAI-compatible server: a model teacher
explores and writes tasks, eight students solve each (plus one with the hint), every attempt
is verified and labelled. Tasks per minute at concurrency 32 with 200 ms of simulated latency,
next to the bound that latency alone sets (the peer: requests x 0.2 s / 32). Then the peak
memory of `csvdsl solve` as the task file grows from 100 to 2,000 tasks: it should stay flat.

The scripted teacher writes the built-in synthesizer's tasks (real programs over the bundled
tables); the students answer with the teacher's program, one in four with a wrong one."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from csvdsl.models.llm import ModelClient
from csvdsl.pipeline.generate import generate
from csvdsl.pipeline.students import solve_tasks
from csvdsl.pipeline.teacher import generate_with_model
from csvdsl.testing.server import ScriptedServer

ROOT = Path(__file__).resolve().parents[1]
TABLES = [str(ROOT / "examples" / "data" / f"{name}.csv") for name in ("airlines", "flights", "penguins", "planes")]
WRONG = "t = {table} | aggregate n = count()\nanswer t.n"


def synthesized(per_table: int) -> list[dict]:
    out = Path(tempfile.mkdtemp(prefix="csvdsl-bench-synth-"))
    try:
        generate(TABLES, out, per_table, seed=3, progress=False)
        return [json.loads(line) for line in (out / "tasks.jsonl").read_text().splitlines()]
    finally:
        shutil.rmtree(out, ignore_errors=True)


def scripted(tasks: list[dict]):
    by_table: dict[str, list[dict]] = {}
    for task in tasks:
        by_table.setdefault(task["tables"][0]["name"], []).append(task)
    program_of = {task["question"]: task["program"] for task in tasks}
    counter, lock = iter(range(10**9)), threading.Lock()

    def reply(request):
        last = request.last_user
        if last.startswith("Now write"):
            table = re.search(r"^- (\w+):", request.messages[1]["content"], re.MULTILINE).group(1)
            return "\n\n".join(f"### Task\nQuestion: {t['question']}\n```csvdsl\n{t['program']}```"
                               for t in by_table.get(table, []))
        if "Explore these tables" in last:
            table = re.search(r"^- (\w+):", last, re.MULTILINE).group(1)
            return f"```csvdsl\ndescribe {table}\n```"
        question = re.search(r"^Question: (.*)$", last, re.MULTILINE)
        if question and question.group(1) in program_of:
            with lock:
                wrong = next(counter) % 4 == 3
            table = re.search(r"^- (\w+):", last, re.MULTILINE).group(1)
            return "```csvdsl\n" + (WRONG.format(table=table) if wrong else program_of[question.group(1)]) + "```"
        return "```csvdsl\ndescribe flights\n```"

    return reply


def throughput(tasks: list[dict], concurrency: int = 32, latency: float = 0.2) -> None:
    out = Path(tempfile.mkdtemp(prefix="csvdsl-bench-pipeline-"))
    per_table = max(len([t for t in tasks if t["tables"][0]["name"] == name]) for name in ("airlines", "flights"))
    try:
        with ScriptedServer(scripted(tasks), latency=latency) as server:
            def client():
                return ModelClient("bench", base_url=server.url, api_key="x", concurrency=concurrency)

            started = time.perf_counter()
            asyncio.run(generate_with_model(TABLES, out, per_table, 0, client(), explore_turns=1))
            made = len((out / "tasks.jsonl").read_text().splitlines())
            counts = asyncio.run(solve_tasks(out, client(), n=8, hint_attempts=1))
            elapsed = time.perf_counter() - started
            requests = len(server.requests)
        bound = requests * latency / concurrency
        print(f"{'pipeline: teacher + 8 students, 200 ms, c=32':<46} {made / elapsed * 60:9.0f} tasks/min   "
              f"{made} tasks, {requests} requests in {elapsed:.1f} s; latency bound {bound:.1f} s, "
              f"ratio {elapsed / bound:.2f}x; labels {counts}", flush=True)
    finally:
        shutil.rmtree(out, ignore_errors=True)


# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent (this process,
# which may hold the flights table), while VmHWM belongs to the child's own memory.
PEAK = ("import re, sys; from csvdsl.cli import main; code = main(sys.argv[1:]); "
        "print('peak-kb', re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1), file=sys.stderr); "
        "sys.exit(code)")


def memory(tasks: list[dict], sizes=(100, 500, 2000)) -> None:
    with ScriptedServer(scripted(tasks)) as server:
        for size in sizes:
            out = Path(tempfile.mkdtemp(prefix="csvdsl-bench-memory-"))
            try:
                with open(out / "tasks.jsonl", "w") as sink:
                    for i in range(size):  # the same tasks again under new ids: only the count matters
                        task = dict(tasks[i % len(tasks)], id=hashlib.sha256(str(i).encode()).hexdigest()[:16])
                        sink.write(json.dumps(task) + "\n")
                started = time.perf_counter()
                done = subprocess.run([sys.executable, "-c", PEAK, "solve", str(out), "--model", "bench", "--base-url",
                                       server.url, "--n", "1", "--hint-attempts", "0", "--no-cache", "--concurrency", "32"],
                                      capture_output=True, text=True)
                elapsed = time.perf_counter() - started
                peak = int(re.search(r"peak-kb (\d+)", done.stderr).group(1)) / 1024
                print(f"{'solve memory, n=1':<46} {size:5d} tasks: peak {peak:6.0f} MB   ({elapsed:.1f} s)", flush=True)
            finally:
                shutil.rmtree(out, ignore_errors=True)


def main(directory: Path | None = None):
    tasks = synthesized(per_table=20)
    throughput(tasks)
    memory(tasks)


if __name__ == "__main__":
    main()
