"""The training record: one task (question, hint, program, plan, answer) with the tables it
is about, its difficulty, where it came from, and the solving trace as chat messages."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel

import csvdsl
from csvdsl.tables import TableInfo

TASKS = "tasks.jsonl"  # the tasks file of a job's folder


class Difficulty(BaseModel):
    operations: int
    depth: int
    joins: int
    windows: int
    aggregates: int
    level: str  # easy | medium | hard


class Origin(BaseModel):
    teacher: str
    seed: int
    version: str = csvdsl.__version__


class Message(BaseModel):
    role: str
    content: str


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


def task_id(plan_root: str, tables: list[TableInfo]) -> str:
    """Stable: the same plan over the same files is the same task."""
    payload = json.dumps([plan_root, sorted(t.sha256 for t in tables)])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
