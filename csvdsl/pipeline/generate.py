"""The batch job: tasks from the built-in teacher written to ``DIR/tasks.jsonl`` as they are
made (each line flushed and synced), so a killed run loses at most the task in flight and a
re-run resumes, skipping what is on disk, to the same file an uninterrupted run writes."""

from __future__ import annotations

import itertools
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from csvdsl import ast
from csvdsl.engine import Engine
from csvdsl.format import format_program
from csvdsl.models.prompts import system_prompt, user_prompt
from csvdsl.pipeline.jsonl import append_line, repair, rows
from csvdsl.pipeline.records import TASKS, Difficulty, Message, Origin, TaskRecord, task_id, write_summary
from csvdsl.pipeline.shards import mine
from csvdsl.pipeline.skills import skills
from csvdsl.pipeline.synth import candidates, link_profiles, profile_table
from csvdsl.render import to_json
from csvdsl.tables import Catalog, TableInfo, table_info
from planner.explain import explain_english, plan_json
from planner.functions import FUNCTIONS
from planner.ops import spec_exprs

ATTEMPTS_PER_TASK = 40


@dataclass
class Summary:
    tasks: Counter = field(default_factory=Counter)  # per table
    resumed: int = 0
    difficulty: Counter = field(default_factory=Counter)
    operations: Counter = field(default_factory=Counter)
    families: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    operation_counts: Counter = field(default_factory=Counter)  # tasks by how many operations their plan has
    skills: Counter = field(default_factory=Counter)  # tasks using each skill
    composed: int = 0  # tasks with four or more operations and two or more skills

    def add(self, record) -> None:
        """Count one kept task."""
        self.difficulty[record.difficulty.level] += 1
        self.operation_counts[record.difficulty.operations] += 1
        self.skills.update(record.difficulty.skills)
        self.composed += record.difficulty.operations >= 4 and len(record.difficulty.skills) >= 2
        self.operations.update(node["op"] for node in record.plan["nodes"] if node["op"] not in ("source", "answer"))

    def as_dict(self) -> dict:
        return {"tasks": dict(self.tasks), "resumed": self.resumed, "difficulty": dict(self.difficulty),
                "operations": dict(sorted(self.operations.items())), "families": dict(sorted(self.families.items())),
                "rejected": dict(sorted(self.rejected.items())),
                "operation_counts": {str(k): v for k, v in sorted(self.operation_counts.items())},
                "skills": dict(sorted(self.skills.items())), "composed": self.composed}


def written_ids(path: Path) -> set[str]:
    """Ids already written; a last line cut off by a kill is removed first (we append next)."""
    repair(path)
    return {row["id"] for row in rows(path)}



def shard_tables(catalog: Catalog, shard: tuple[int, int]) -> list[str]:
    """The tables a shard writes tasks for (every table is still loaded, for joins)."""
    return [name for position, name in enumerate(catalog.names()) if mine(position, shard)]


def difficulty(plan) -> Difficulty:
    """Operations, depth, joins, windows and aggregates of a plan, and a level from them."""
    nodes = [plan.node(n) for n in plan.needed()]
    operations = [a for a in nodes if a["op"] not in ("source", "answer")]
    windows = 0
    for attrs in operations:
        windows += sum(1 for expr in spec_exprs(attrs["spec"]) for e in ast.walk(expr) if isinstance(e, ast.Call) and FUNCTIONS[e.name].kind == "window")
    count = len(operations)
    level = "easy" if count <= 2 else "medium" if count <= 4 else "hard"
    return Difficulty(operations=count, depth=nx.dag_longest_path_length(plan.graph), joins=sum(a["op"] == "join" for a in operations),
                      windows=windows, aggregates=sum(a["op"] in ("group", "aggregate") for a in operations), level=level,
                      skills=skills(plan))


def conversation(question: str, tables: list[TableInfo], program: str | None = None) -> list[Message]:
    """A task's conversation: the system prompt, the question with its tables, then the
    program when there is one (like the agent loop's transcripts, it ends with the program
    that answered)."""
    messages = [Message(role="system", content=system_prompt()), Message(role="user", content=user_prompt(question, tables))]
    if program is not None:
        messages.append(Message(role="assistant", content=f"```csvdsl\n{program}```"))
    return messages


def solved_fields(run, question: str, tables: list[TableInfo]) -> dict:
    """What a run gives a task: its program (formatted), plan, hint (the plan in English),
    answer, conversation and difficulty."""
    program = format_program(run.checked.program)
    return {"program": program, "plan": plan_json(run.plan), "hint": "\n".join(explain_english(run.plan)),
            "answer": to_json(run.answer), "conversation": conversation(question, tables, program),
            "difficulty": difficulty(run.plan)}


def make_record(candidate, run, catalog: Catalog, seed: int, teacher: str = "synth") -> TaskRecord:
    """A task record from a kept candidate and its run."""
    plan = run.plan
    used = sorted({plan.node(n)["spec"] for n in plan.needed() if plan.node(n)["op"] == "source"})
    tables = [table_info(catalog, name) for name in used]
    return TaskRecord(id=task_id(plan.root, tables), tables=tables, question=candidate.question,
                      origin=Origin(teacher=teacher, seed=seed), **solved_fields(run, candidate.question, tables))


def generate(specs: list[str], out: Path, per_table: int = 20, seed: int = 0, teacher: str = "synth",
             progress: bool = True, shard: tuple[int, int] = (0, 1)) -> Summary:
    """Write ``per_table`` tasks for each table to ``out/tasks.jsonl`` (resuming), and a summary."""
    catalog = Catalog.from_specs(specs)
    engine = Engine(catalog)
    frames = engine.tables
    schemas = {n: catalog[n].schema for n in catalog.names()}
    profiles = {n: profile_table(n, frames[n], schemas[n]) for n in catalog.names()}
    link_profiles(profiles, frames, schemas)
    out.mkdir(parents=True, exist_ok=True)
    path = out / TASKS
    written = written_ids(path)
    summary = Summary()
    with _progress(progress, per_table * len(catalog.names())) as advance:
        for table in shard_tables(catalog, shard):
            summary.tasks[table] += 0  # a table with nothing to ask is listed too
            stream = candidates(engine, table, profiles, seed)
            kept = 0
            for attempt in itertools.islice(stream, per_table * ATTEMPTS_PER_TASK):
                if kept == per_table:
                    break
                if attempt.reason:
                    summary.rejected[attempt.reason.split(":")[0]] += 1
                    continue
                record = make_record(attempt.candidate, attempt.run, catalog, seed, teacher)
                kept += 1
                advance()
                summary.tasks[table] += 1
                summary.add(record)
                summary.families[attempt.candidate.family] += 1
                if record.id in written:
                    summary.resumed += 1
                    continue
                append_line(path, record.model_dump_json())
                written.add(record.id)
    write_summary(out, summary.as_dict())
    return summary


class _progress:
    """A rich progress bar on stderr when it is a terminal; nothing otherwise."""

    def __init__(self, enabled: bool, total: int):
        self.enabled = enabled and sys.stderr.isatty()
        self.total = total

    def __enter__(self):
        if not self.enabled:
            return lambda: None
        from rich.progress import Progress

        self._bar = Progress(transient=True)
        self._bar.start()
        task = self._bar.add_task("generating tasks", total=self.total)
        return lambda: self._bar.advance(task)

    def __exit__(self, *exc):
        if self.enabled:
            self._bar.stop()
        return False


def print_summary(summary: Summary, out: Path) -> None:
    """The end-of-run summary as rich tables."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for title, counts in (("tasks per table", summary.tasks), ("difficulty", summary.difficulty),
                          ("operations used", summary.operations), ("operations per task", summary.operation_counts),
                          ("tasks using each skill", summary.skills), ("question families", summary.families),
                          ("rejected candidates", summary.rejected)):
        table = Table(title=title, title_justify="left")
        table.add_column("")
        table.add_column("count", justify="right")
        for key, value in sorted(counts.items()):
            table.add_row(str(key), f"{value:,}")
        console.print(table)
    total = sum(summary.tasks.values())
    console.print(f"{total} tasks in {out / TASKS} ({summary.resumed} already there from an earlier run); "
                  f"{summary.composed} with four or more operations and two or more skills")
