"""Gold tasks (imported questions with answers but no program): an attempt is right when its
answer matches the gold answer by the dataset's rule, and after solving, the shortest verified
program becomes the task's program, plan, hint (the plan in English) and computed answer, so
the task then behaves like a generated one for export, rewards and the environment."""

from __future__ import annotations

import json
import os
from pathlib import Path

from csvdsl.errors import DslError
from csvdsl.pipeline.generate import solved_fields
from csvdsl.pipeline.records import TASKS, TaskRecord
from csvdsl.pipeline.shards import solution_rows
from csvdsl.render import to_json
from csvdsl.worker import Worker
from verifier.answers import AnswerMatch
from verifier.gold import match_gold


def gold_match(record: TaskRecord, answer) -> AnswerMatch:
    """An attempt's typed answer (None: it gave none) against the task's gold answer."""
    gold = record.gold
    return match_gold(gold.answer, answer, gold.match, gold.texts, gold.canons)


def prompt_hint(record: TaskRecord) -> str:
    """The hint a hinted attempt is given: for a gold task, only one that came with the
    question (its plan's English would give a student's solution away, and add requests)."""
    return record.gold.hint if record.gold is not None else record.hint


def promote(record: TaskRecord, programs: list[str], worker: Worker) -> TaskRecord | None:
    """The record with the shortest of ``programs`` that runs and matches the gold answer as
    its program; None when none does (a program joined from several turns may not rerun).
    Students' programs run in the supervised worker, as they did when they were written."""
    tables = {t.name: t.file for t in record.tables}
    for program in sorted(set(programs), key=lambda p: (len(p), p)):
        try:
            run = worker.run(tables, program)
        except DslError:
            continue
        if run.answer is None or gold_match(record, to_json(run.answer)).score != 1.0:
            continue
        fields = solved_fields(run, record.question, record.tables)
        if record.gold.level:  # the dataset's own difficulty wins
            fields["difficulty"] = fields["difficulty"].model_copy(update={"level": record.gold.level})
        return record.model_copy(update=fields)
    return None


def promote_verified(directory: Path) -> int:
    """Give every gold task with a verified attempt its shortest verified program, rewriting
    ``tasks.jsonl`` atomically (from the attempts on disk, so a re-run gives the same file).
    Returns how many gold tasks have a program."""
    directory = Path(directory)
    programs: dict[str, list[str]] = {}
    for attempt in solution_rows(directory):
        if attempt["correct"] and attempt["program"]:
            programs.setdefault(attempt["task"], []).append(attempt["program"])
    if not programs:
        return 0
    promoted, changed = 0, False
    temporary = directory / f"{TASKS}.{os.getpid()}.tmp"
    with open(directory / TASKS, encoding="utf-8") as source, open(temporary, "w", encoding="utf-8") as sink, \
            Worker() as worker:  # started only if a program is run
        for line in source:
            if not line.endswith("\n"):
                continue  # cut off by a kill: its writer would remove it too
            try:
                row = json.loads(line)
            except ValueError:
                row = {}  # a damaged line stays as it is, for the tasks' reader to report (--repair drops it)
            if row.get("gold") is not None:
                record = TaskRecord.model_validate(row)
                # Only a program shorter than the task's own can change it: a re-run reruns nothing.
                shorter = [p for p in programs.get(record.id, [])
                           if not record.program or len(p.strip()) < len(record.program.strip())]
                better = promote(record, shorter, worker) if shorter else None
                if better is not None and better.program != record.program:
                    line, changed = better.model_dump_json() + "\n", True
                promoted += bool((better or record).program)
            sink.write(line)  # every other line exactly as it was
    if changed:
        temporary.replace(directory / TASKS)
    else:
        temporary.unlink()
    return promoted
