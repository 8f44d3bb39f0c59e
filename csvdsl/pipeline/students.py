"""Students: for each task, attempts with the hint, then n without, each through the agent
loop and verified against the teacher's program (answer, plan similarity, hooks), or, for an
imported task, against its gold answer (csvdsl.pipeline.gold). Attempts
are appended to ``DIR/solutions.jsonl`` as they finish (a re-run skips them), and each task
gets a label in ``DIR/labels.jsonl``: pass rates, a status and a difficulty."""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from pathlib import Path

from csvdsl.engine import Engine
from csvdsl.limits import Limits
from csvdsl.models.agent import off_loop, solve
from csvdsl.models.llm import REQUEST_ERRORS, ModelClient, ModelError
from csvdsl.models.prompts import user_prompt
from csvdsl.pipeline.gold import gold_match, promote_verified, prompt_hint
from csvdsl.pipeline.jsonl import append_line, repair
from csvdsl.pipeline.records import TaskRecord, read_tasks
from csvdsl.pipeline.shards import solution_rows, solutions_file, task_shard
from csvdsl.render import to_json
from csvdsl.tables import TableInfo
from csvdsl.tables.verify import check_table_file
from csvdsl.worker import Worker, child_engine
from planner.cache import LruDict
from verifier.answers import compare, typed
from verifier.report import verify
from verifier.rewards import engine_for_tables

LABELS = "labels.jsonl"
ANSWER_ROWS = 1_000  # rows of a table answer an attempt line keeps
STATUSES = ("verified", "hint-only", "unsolved", "suspect", "gold-suspect")  # gold-suspect: imported tasks


def attempt_key(task: str, hint: bool, index: int, model: str) -> str:
    return f"{task}/{'hint' if hint else 'nohint'}/{index}/{model}"


async def solve_tasks(directory: Path, client: ModelClient, n: int = 8, hint_attempts: int = 1,
                      max_turns: int = 6, token_budget: int | None = None, shard: tuple[int, int] = (0, 1)) -> dict:
    """Run every missing attempt (of this shard's tasks), then label every task. Returns the
    counts by status. An error that belongs to one request (a 400: say, a transcript too long
    for the model) is recorded as that attempt's result; any other stops the run, after the
    labels of what is done are written, and a re-run resumes."""
    path = directory / solutions_file(shard)
    repair(path)  # this process is the file's only writer
    done = {row["key"] for row in solution_rows(directory)}

    def missing():
        for record in read_tasks(directory):
            if not task_shard(record.id, shard):
                continue
            for hint, count in ((True, hint_attempts if prompt_hint(record) else 0), (False, n)):
                for index in range(count):
                    if attempt_key(record.id, hint, index, client.model) not in done:
                        yield record, hint, index

    try:
        await run_attempts(client, path, missing(), max_turns, token_budget)
    finally:
        await client.aclose()
        counts = write_labels(directory, client.model)
        promote_verified(directory)
    return counts


async def run_attempts(client: ModelClient, path: Path, jobs, max_turns: int, token_budget: int | None) -> None:
    """Make the attempt of each ``(record, hint, index)`` of ``jobs``, the client's workers at
    once, each attempt's line appended to ``path`` as it finishes. A worker that fails cancels
    the producer and the other workers (no one waits on a full queue); its error is raised."""
    tables = Tables()
    queue: asyncio.Queue = asyncio.Queue(maxsize=client.concurrency * 4)
    workers = client.concurrency * 2

    async def worker():
        while (job := await queue.get()) is not None:
            line = await attempt(client, tables, *job, max_turns, token_budget)
            append_line(path, json.dumps(line, ensure_ascii=False))

    async def produce():
        for job in jobs:
            await queue.put(job)
        for _ in range(workers):
            await queue.put(None)

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(produce())
            for _ in range(workers):
                group.create_task(worker())
    except BaseExceptionGroup as failure:
        raise failure.exceptions[0] from None
    finally:
        tables.close()  # the worker that ran the programs


class Tables:
    """Engines per table set (the process-wide ones the rewards use) and the teacher's runs
    per task (attempts at one task arrive together); used on the program thread only."""

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits()
        self.worker = Worker(self.limits)  # students' programs run here: killed and replaced at the deadline
        self.checked: set[tuple[str, str]] = set()

    def engine(self, tables: list[TableInfo]) -> Engine:
        return engine_for_tables(self.paths(tables))

    def paths(self, tables: list[TableInfo]) -> dict[str, str]:
        """Table names to files, each file checked once against the sha256 the task recorded."""
        for table in tables:
            if (table.file, table.sha256) not in self.checked:
                check_table_file(table.name, table.file, table.sha256)
                self.checked.add((table.file, table.sha256))
        return {t.name: t.file for t in tables}

    def session(self, tables: list[TableInfo]):
        """A Session whose turns run in the supervised worker."""
        return self.worker.session(self.paths(tables), self.limits)

    def verify(self, record: TaskRecord, program: str):
        timeout = None if self.limits.timeout is None else 2 * self.limits.timeout  # the teacher's run and the student's
        return self.worker.call(verify_in_worker, self.paths(record.tables), record.program, program, self.limits,
                                timeout=timeout)

    def close(self) -> None:
        self.worker.close()


_REFERENCES = LruDict(32)  # in the worker: (tables, teacher's program) -> its run


def verify_in_worker(tables: dict[str, str], teacher: str, student: str, limits: Limits):
    """The verifier's report on a student's program, computed in the worker process."""
    engine = child_engine(tables)
    key = (json.dumps(tables, sort_keys=True), teacher)
    reference = _REFERENCES.remember(key, lambda: engine.run(teacher, limits))
    return verify(reference, student, engine, limits=limits)


async def attempt(client, tables: Tables, record: TaskRecord, hint: bool, index: int, max_turns, token_budget) -> dict:
    session = await off_loop(tables.session, record.tables)
    prompt = user_prompt(record.question, record.tables, prompt_hint(record) if hint else None)
    key = attempt_key(record.id, hint, index, client.model)
    try:
        result = await solve(client, session, prompt, max_turns=max_turns, token_budget=token_budget, sample=index)
    except ModelError as error:
        if error.code not in REQUEST_ERRORS:
            raise
        return {"key": key, "task": record.id, "hint": hint, "attempt": index, "model": client.model, "stop": "error",
                "error": {"code": error.code, "message": error.message}, "turns": 0, "prompt_tokens": 0,
                "completion_tokens": 0, "answer": None, "program": "", "correct": False, "answer_match": 0.0,
                "similarity": 0.0, "hook_coverage": 0.0, "messages": []}
    line = {"key": key, "task": record.id, "hint": hint,
            "attempt": index, "model": client.model, "stop": result.stop, "turns": result.turns,
            "prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
            # A large table answer is stored cut, with its size and the hash of the whole.
            "answer": to_json(result.answer, ANSWER_ROWS) if result.answer is not None else None, "program": result.program,
            "correct": False, "answer_match": 0.0, "similarity": 0.0, "hook_coverage": 0.0,
            "messages": result.messages}
    if result.answer is not None and record.gold is not None:  # an imported task: the gold answer decides
        match = gold_match(record, line["answer"])
        line.update(correct=match.score == 1.0, answer_match=match.score)
    elif result.answer is not None:
        report = await off_loop(tables.verify, record, result.program)
        line.update(correct=report.answer_match == 1.0, answer_match=report.answer_match,
                    similarity=report.similarity, hook_coverage=report.hook_coverage)
    return line


def label(attempts: list[dict], gold: bool = False) -> dict:
    """Pass rates with and without the hint, a status and a difficulty for one task."""
    hinted = [a for a in attempts if a["hint"]]
    plain = [a for a in attempts if not a["hint"]]
    rate = lambda group: sum(a["correct"] for a in group) / len(group) if group else None  # noqa: E731
    with_hint, without = rate(hinted), rate(plain)
    # Students agreeing with each other on one wrong answer: the question, or the teacher, is off.
    wrong = [typed(a["answer"]) for a in plain if a["answer"] is not None and not a["correct"]]
    largest = _largest_agreement(wrong)
    if plain and largest > len(plain) / 2:
        status = "gold-suspect" if gold else "suspect"
    elif without:
        status = "verified"
    elif with_hint:
        status = "hint-only"
    else:
        status = "unsolved"
    difficulty = None if without is None else "easy" if without >= 0.75 else "medium" if without >= 0.25 else \
        "hard" if without > 0 else "unsolved"
    return {"pass_rate": without, "pass_rate_hint": with_hint, "attempts": len(plain), "hint_attempts": len(hinted),
            "status": status, "difficulty": difficulty}


def _largest_agreement(answers: list[dict]) -> int:
    groups: list[list[dict]] = []
    for answer in answers:
        for group in groups:
            if compare(group[0], answer).score == 1.0:
                group.append(answer)
                break
        else:
            groups.append([answer])
    return max((len(g) for g in groups), default=0)


def write_labels(directory: Path, model: str | None = None) -> dict:
    """``labels.jsonl`` from the tasks and the attempts on disk (of one student model, or of
    all), each attempt counted once whichever shard file holds it; rewritten atomically."""
    by_task: dict[str, list[dict]] = {}
    seen: set[str] = set()
    for attempt in solution_rows(directory):
        if attempt["key"] in seen or (model is not None and attempt["model"] != model):
            continue
        seen.add(attempt["key"])
        attempt.pop("messages", None)  # the labels need the verdicts, not the transcripts
        by_task.setdefault(attempt["task"], []).append(attempt)
    counts = Counter()
    temporary = directory / f"{LABELS}.{os.getpid()}.tmp"  # shards may label at the same time
    with open(temporary, "w", encoding="utf-8") as sink:
        for record in read_tasks(directory):
            entry = {"task": record.id, "question": record.question, "model": model} | label(by_task.get(record.id, []), record.gold is not None)
            counts[entry["status"]] += 1
            sink.write(json.dumps(entry, ensure_ascii=False) + "\n")
    temporary.replace(directory / LABELS)
    return dict(counts)
