"""The model teacher: it explores the tables through the agent loop, then writes tasks as
``### Task`` blocks (question, optional hint, program). Every program is checked and run: the
answer is computed, never taken from the model. A failing program gets one repair turn;
still failing, degenerate or a duplicate plan, the task is rejected with its reason counted."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace

from csvdsl.engine import Engine
from csvdsl.errors import DslError, ParseError
from csvdsl.models.agent import off_loop, solve
from csvdsl.models.llm import REQUEST_ERRORS, ModelClient, ModelError
from csvdsl.models.prompts import prompt_text, user_prompt
from csvdsl.pipeline.generate import Summary, make_record, shard_tables, written_ids
from csvdsl.pipeline.jsonl import append_line, repair, rows
from csvdsl.pipeline.records import TASKS, TaskRecord, write_summary
from csvdsl.pipeline.synth import answer_rejection
from csvdsl.reply import find_program
from csvdsl.session import Session
from csvdsl.tables import Catalog, TableInfo, table_info

_TASK = re.compile(r"^#{2,4}\s*Task\b[^\n]*$", re.MULTILINE)
_FIELD = re.compile(r"^\s*(Question|Hint)\s*:\s*", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True)
class TaskBlock:
    question: str
    hint: str
    program: str | None


def parse_tasks(text: str) -> list[TaskBlock]:
    """The task blocks of a reply; any text outside them (a claimed answer included) is ignored."""
    starts = [m.end() for m in _TASK.finditer(text)]
    ends = [m.start() for m in _TASK.finditer(text)][1:] + [len(text)]
    blocks = []
    for start, end in zip(starts, ends):
        body = text[start:end]
        program = find_program(body)
        prose = body.split("```", 1)[0]
        fields, marks = {}, list(_FIELD.finditer(prose))
        for mark, following in zip(marks, marks[1:] + [None]):
            fields[mark.group(1).lower()] = prose[mark.end(): following.start() if following else len(prose)].strip()
        if fields.get("question"):
            blocks.append(TaskBlock(" ".join(fields["question"].split()), fields.get("hint", "").strip(), program))
    return blocks


def teacher_system() -> str:
    return prompt_text("teacher.md").strip() + "\n\n" + prompt_text("language_card.md").strip()


def writing_request(count: int) -> str:
    return (f"Now write {count} tasks about these tables, each exactly as:\n\n### Task\nQuestion: <one question in "
            "plain English>\nHint: <optional: the steps in plain English>\n```csvdsl\n<program ending in an answer "
            "statement>\n```\n\nEach program must stand alone (no bindings from the exploration).")


@dataclass
class Teaching:
    """What one table's teaching gave: kept tasks (block, run), rejections, the conversation."""

    kept: list = field(default_factory=list)
    rejected: Counter = field(default_factory=Counter)
    messages: list[dict] = field(default_factory=list)


async def teach(client: ModelClient, engine: Engine, tables: list[TableInfo], count: int, *,
                explore_turns: int = 4, seen: set[str] | None = None, sample: int = 0) -> Teaching:
    """Explore ``tables``, ask for ``count`` tasks, run them, repair once, keep the good ones."""
    seen = seen if seen is not None else set()
    intro = user_prompt("Explore these tables to find what is worth asking about. Write one program per reply; "
                        "you will be asked for tasks afterwards.", tables).replace("Question: ", "Task: ", 1)
    explored = await solve(client, Session(engine), intro, system=teacher_system(), max_turns=explore_turns, sample=sample)
    messages = explored.messages + [{"role": "user", "content": writing_request(count)}]
    # Task lists are prose: never constrained to the program grammar.
    reply = await client.complete(messages, sample=sample, constrain="off")
    messages.append({"role": "assistant", "content": reply.text})
    teaching = Teaching(messages=messages)
    blocks = parse_tasks(reply.text)
    if not blocks:
        teaching.rejected["no-task-blocks"] += 1
    failures = []
    for index, block in enumerate(blocks):
        outcome = await off_loop(_try, engine, block)
        if isinstance(outcome, DslError):
            failures.append((index, block, outcome))
        else:
            _keep(teaching, block, outcome, seen)
    if failures:  # one repair turn for all the failing programs at once
        notes = "\n\n".join(f"Task {i + 1} ({b.question}) failed:\n{e.render()}" for i, b, e in failures)
        messages.append({"role": "user", "content": notes + "\n\nReply with the corrected task blocks only, "
                         "in the same order, in the same format."})
        repair = await client.complete(messages, sample=sample, constrain="off")
        messages.append({"role": "assistant", "content": repair.text})
        fixed = parse_tasks(repair.text)
        for position, (index, block, error) in enumerate(failures):
            if position >= len(fixed):
                teaching.rejected[f"fails:{error.code}"] += 1
                continue
            outcome = await off_loop(_try, engine, fixed[position])
            if isinstance(outcome, DslError):
                teaching.rejected[f"fails:{outcome.code}"] += 1
            else:
                _keep(teaching, fixed[position], outcome, seen)
    return teaching


def _try(engine: Engine, block: TaskBlock):
    if not block.program:
        return ParseError("no-program", "the task has no ```csvdsl program", hint="put the program in a ```csvdsl block")
    try:
        return engine.run(block.program)
    except DslError as error:
        return error.with_source(block.program)


def _keep(teaching: Teaching, block: TaskBlock, run, seen: set[str]) -> None:
    reason = "no-answer" if run.answer is None else answer_rejection(run.answer)
    if reason is None and run.plan.root in seen:
        reason = "duplicate"
    if reason:
        teaching.rejected[reason] += 1
        return
    seen.add(run.plan.root)
    teaching.kept.append((block, run))


def record_for(block: TaskBlock, run, catalog, model: str, seed: int) -> TaskRecord:
    """The same record the synthesizer writes; the model's hint when it gave one."""
    record = make_record(SimpleNamespace(program=block.program, question=block.question), run, catalog, seed, teacher=model)
    return record.model_copy(update={"hint": block.hint}) if block.hint else record


async def generate_with_model(specs: list[str], out, per_table: int, seed: int, client: ModelClient,
                              explore_turns: int = 4, shard: tuple[int, int] = (0, 1)):
    """``csvdsl generate --teacher model``: each table taught (concurrently), tasks appended to
    ``out/tasks.jsonl`` as they are kept, each table's conversation to ``out/teacher.jsonl``.
    A table whose conversation is on disk is done: a re-run makes no requests for it, and its
    counts come from that line."""
    catalog = Catalog.from_specs(specs)
    engine = Engine(catalog)
    out.mkdir(parents=True, exist_ok=True)
    written = written_ids(out / TASKS)
    conversations = out / "teacher.jsonl"
    repair(conversations)
    done = {row["table"]: row for row in rows(conversations)}
    summary = Summary()
    seen: set[str] = set()

    async def one(name: str):
        summary.tasks[name] += 0
        if name in done:
            summary.resumed += 1
            summary.tasks[name] += done[name]["kept"]
            summary.rejected.update(done[name]["rejected"])
            return
        try:
            teaching = await teach(client, engine, [table_info(catalog, name)], per_table,
                                   explore_turns=explore_turns, seen=seen, sample=seed)
        except ModelError as error:
            if error.code not in REQUEST_ERRORS:
                raise
            teaching = Teaching(rejected=Counter({error.code: 1}))  # this table's request, not the run, failed
        summary.rejected.update(teaching.rejected)
        for block, run in teaching.kept:
            record = await off_loop(record_for, block, run, catalog, client.model, seed)
            summary.tasks[name] += 1
            summary.add(record)
            if record.id not in written:
                append_line(out / TASKS, record.model_dump_json())
                written.add(record.id)
        append_line(conversations, json.dumps({"table": name, "model": client.model, "kept": len(teaching.kept),
                                               "rejected": dict(teaching.rejected), "messages": teaching.messages}))

    try:
        async with asyncio.TaskGroup() as group:
            for name in shard_tables(catalog, shard):
                group.create_task(one(name))
    except BaseExceptionGroup as failure:
        raise failure.exceptions[0] from None
    finally:
        await client.aclose()
        write_summary(out, summary.as_dict())
    return summary
