"""The training record: one task (question, hint, program, plan, answer) with the tables it
is about, its difficulty, where it came from, and the solving trace as chat messages."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import BaseModel, ValidationError

import csvdsl
from csvdsl.pipeline.jsonl import not_a_row, numbered_rows, write_atomic
from csvdsl.tables import TableInfo

TASKS = "tasks.jsonl"  # the tasks file of a job's folder
SUMMARY = "summary.json"  # what a generate run counted (csvdsl stats adds up those of merged runs)
SUMMARY_HINT = "run generate again in that folder to write it afresh, or delete it"


def write_summary(directory: Path, summary: dict) -> None:
    """Write a folder's ``summary.json`` whole (a kill leaves the old one or the new)."""
    write_atomic(directory / SUMMARY, json.dumps(summary, indent=2, sort_keys=True) + "\n")


class Difficulty(BaseModel):
    operations: int
    depth: int
    joins: int
    windows: int
    aggregates: int
    level: str  # easy | medium | hard
    skills: list[str] = []  # the reasoning skills the plan uses (csvdsl.pipeline.skills)


class Origin(BaseModel):
    teacher: str
    seed: int
    version: str = csvdsl.__version__


class Message(BaseModel):
    role: str
    content: str


class Gold(BaseModel):
    """An imported task's answer (``origin.teacher == "gold"``): typed, matched to attempts by
    ``match`` (verifier.gold.MODES); ``texts`` and ``canons`` are denotation targets as written."""

    answer: dict
    match: str = "typed"
    source: str  # the dataset format and file: wtq:pristine-unseen-tables, tabfact:..., jsonl:...
    id: str  # the dataset's own id for the question
    texts: list[str] | None = None
    canons: list[str] | None = None
    hint: str = ""  # a hint that came with the question (the task's hint becomes the plan's English)
    level: str | None = None  # the dataset's own difficulty, when it gives one


class TaskRecord(BaseModel):
    id: str
    tables: list[TableInfo]
    question: str
    hint: str
    program: str
    plan: dict
    answer: dict
    difficulty: Difficulty
    origin: Origin
    conversation: list[Message]
    gold: Gold | None = None  # imported tasks: the program is empty until a student's verified one


def task_id(plan_root: str, tables: list[TableInfo]) -> str:
    """Stable: the same plan over the same files is the same task."""
    payload = json.dumps([plan_root, sorted(t.sha256 for t in tables)])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


NOT_A_TASK = "fix or delete that line: it is JSON but not a task record (a file from elsewhere, or edited by hand)"


def read_tasks(directory: Path):
    """A folder's task records one at a time: thousands of tasks never sit in memory together.
    A line that is JSON but not a task is a ``DataError("jsonl-invalid")`` naming the line."""
    path = Path(directory) / TASKS
    for number, row in numbered_rows(path):
        try:
            yield TaskRecord.model_validate(row)
        except ValidationError as error:
            first = error.errors()[0]
            detail = f"{'.'.join(map(str, first['loc'])) or 'the line'}: {first['msg']}"
            raise not_a_row(path, number, "a task", detail, NOT_A_TASK) from None
