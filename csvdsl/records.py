"""The training record: one task (question, hint, program, plan, answer) with the tables it
is about, its difficulty, where it came from, and the solving trace as chat messages."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel

import csvdsl


class ColumnInfo(BaseModel):
    name: str
    type: str


class TableInfo(BaseModel):
    name: str
    file: str
    sha256: str
    rows: int
    columns: list[ColumnInfo]


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


@cache
def prompt_text(name: str) -> str:
    """A model-facing text shipped in ``prompts/`` (from the installed package, or the tree)."""
    try:
        return (resources.files("csvdsl._prompts") / name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError):
        return (Path(__file__).resolve().parents[1] / "prompts" / name).read_text(encoding="utf-8")


def system_prompt() -> str:
    """The solver's role, then the language card."""
    return prompt_text("solver.md").strip() + "\n\n" + prompt_text("language_card.md").strip()


@cache
def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def task_id(plan_root: str, tables: list[TableInfo]) -> str:
    """Stable: the same plan over the same files is the same task."""
    payload = json.dumps([plan_root, sorted(t.sha256 for t in tables)])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def user_prompt(question: str, tables: list[TableInfo], hint: str | None = None) -> str:
    """The question with the tables' names and shapes (and the hint, when given)."""
    lines = ["Tables:"]
    for table in tables:
        columns = ", ".join(f"{c.name} ({c.type})" for c in table.columns)
        lines.append(f"- {table.name}: {table.rows:,} rows; columns {columns}")
    lines += ["", f"Question: {question}"]
    if hint:
        lines += ["", "Hint:", hint]
    return "\n".join(lines)
