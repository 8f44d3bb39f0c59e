"""Gold tasks (imported questions with answers but no program): an attempt is right when its
answer matches the gold answer by the dataset's rule, and after solving, the shortest verified
program becomes the task's program, plan, hint (the plan in English) and computed answer, so
the task then behaves like a generated one for export, rewards and the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from csvdsl.errors import DslError
from csvdsl.pipeline.generate import solved_fields
from csvdsl.pipeline.jsonl import parse_row, rewrite
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
    The programs are run first, without the file's lock; the rewrite then holds it only to
    swap the lines in, so tasks appended meanwhile, and another shard's promotions, are kept.
    Returns how many gold tasks have a program."""
    directory = Path(directory)
    programs: dict[str, list[str]] = {}
    for attempt in solution_rows(directory):
        if attempt["correct"] and attempt["program"]:
            programs.setdefault(attempt["task"], []).append(attempt["program"])
    if not programs or not (directory / TASKS).exists():
        return 0
    better: dict[str, tuple[str, str]] = {}  # task id -> (program, its record's line)
    have = 0  # gold tasks with a program, should none change
    with Worker() as worker:  # started only if a program is run
        for row in _gold_rows(directory / TASKS):
            have += bool(row.get("program"))
            try:
                record = TaskRecord.model_validate(row)
            except ValidationError:
                continue  # not a task: the tasks' reader reports it
            # Only a program shorter than the task's own can change it: a re-run reruns nothing.
            shorter = [p for p in programs.get(record.id, []) if _shorter(p, record.program)]
            promoted = promote(record, shorter, worker) if shorter else None
            if promoted is not None and promoted.program != record.program:
                better[record.id] = (promoted.program, promoted.model_dump_json() + "\n")
    if not better:
        return have
    count = 0

    def swap(line: str) -> str:
        nonlocal count
        row = _row(line)
        if row.get("gold") is None:
            return line  # every other line exactly as it was
        found = better.get(row.get("id"))
        if found is not None and _shorter(found[0], str(row.get("program") or "")):  # another shard may have done better
            line, row = found[1], {"program": found[0]}
        count += bool(row.get("program"))
        return line

    rewrite(directory / TASKS, swap)
    return count


def _shorter(program: str, than: str) -> bool:
    return not than or len(program.strip()) < len(than.strip())


def _row(line: str) -> dict:
    # A damaged line stays as it is, for the tasks' reader to report (--repair drops it).
    return parse_row(line) or {}


def _gold_rows(path: Path):
    """The gold tasks' rows, read without the lock: a line being appended is not finished."""
    with open(path, encoding="utf-8", errors="surrogateescape") as source:
        for line in source:
            row = _row(line) if line.endswith("\n") else {}
            if row.get("gold") is not None:
                yield row
