"""Reward functions in TRL's GRPOTrainer signature, ``fn(completions, **kwargs) -> list[float | None]``.

Each reads the dataset's extra columns from kwargs (one value per completion): ``answer``
(the teacher's typed answer ``{"type", "value"}``, a dict or a JSON string), ``program``
(the teacher's program) and ``tables`` (table names mapped to CSV paths, a dict or a JSON
string). A completion is a string or a list of chat messages; its program is its last
fenced ```csvdsl block, or its whole text. Tables are loaded once per process and every
program runs through one Engine per set of tables, so shared steps are computed once."""

from __future__ import annotations

import json

from csvdsl.engine import Engine
from csvdsl.errors import DslError
from csvdsl.parse import parse
from csvdsl.program import ProgramRun
from csvdsl.reply import find_program
from planner.cache import LruDict
from planner.execute import Execution
from verifier.answers import compare, typed
from verifier.hooks import fingerprints_for, hook_coverage
from verifier.structure import compare_plans

_ENGINES = LruDict(8)  # tables key -> Engine
_RUNS = LruDict(4096)  # (tables key, program) -> ProgramRun | DslError
_HOOKS = LruDict(4096)  # (tables key, teacher, student) -> hook coverage


def completion_text(completion) -> str:
    """The text of a completion: a string, or the content of its (last) assistant messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    if not isinstance(completion, (list, tuple)):
        return ""
    messages = [m for m in completion if isinstance(m, dict)]
    assistant = [m for m in messages if m.get("role", "assistant") == "assistant"]
    return "\n".join(str(m.get("content") or "") for m in (assistant or messages)[-1:])


def extract_program(completion) -> str:
    """The program in a completion: its last ```csvdsl block, else its last fenced block, else all of it."""
    text = completion_text(completion)
    program = find_program(text)
    return text if program is None else program


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _tables_key(tables) -> str:
    return json.dumps(_json(tables), sort_keys=True)


def engine_for_tables(tables, key: str | None = None) -> Engine:
    """The process-wide Engine for a set of tables (loaded on first use); ``key`` is their
    ``_tables_key`` when the caller has it already."""
    return _ENGINES.remember(key or _tables_key(tables), lambda: Engine(_json(tables)))


def _slim(run: ProgramRun) -> ProgramRun:
    """A run without its intermediate tables: the cache keeps answers and plans only (the
    Engine's own byte-bounded cache keeps tables)."""
    return ProgramRun(run.checked, run.plan, Execution(outputs=run.execution.outputs))


def _run(tables, program: str) -> ProgramRun | DslError:
    key = _tables_key(tables)
    engine = engine_for_tables(tables, key)

    def attempt():
        try:
            return _slim(engine.run(program))
        except DslError as error:
            return error

    return _RUNS.remember((key, program), attempt)


def _column(kwargs: dict, name: str, index: int):
    values = kwargs.get(name)
    if values is None or isinstance(values, (str, bytes, dict)):
        return values  # one value for every completion
    return values[index]  # a list, or a datasets column


def _each(completions, kwargs, score, required: dict[str, str], optional: dict[str, str] | None = None) -> list[float | None]:
    """Score each completion; ``required`` and ``optional`` map dataset columns to the score's
    parameter names. A row missing a required column gets None (TRL skips it)."""
    rewards = []
    for index, completion in enumerate(completions):
        arguments = {parameter: _column(kwargs, column, index) for column, parameter in required.items()}
        if any(value is None for value in arguments.values()):
            rewards.append(None)
            continue
        arguments.update({parameter: _column(kwargs, column, index) for column, parameter in (optional or {}).items()})
        try:
            rewards.append(float(score(extract_program(completion), **arguments)))
        except DslError:  # the teacher's program fails: this row cannot be scored
            rewards.append(None)
        except Exception:  # noqa: BLE001 - a reward must never stop training
            rewards.append(0.0)
    return rewards


def _answer_score(program, answer, tables, teacher=None) -> float:
    student = _run(tables, program)
    if isinstance(student, DslError) or student.answer is None:
        return 0.0
    expected = typed(_json(answer))
    if teacher is not None:  # the teacher's run says whether order was asked for
        reference = _run(tables, teacher)
        if isinstance(reference, ProgramRun) and reference.answer is not None:
            expected["ordered"] = bool(reference.answer.ordered)
    return compare(expected, student.answer).score


def answer_reward(completions, **kwargs) -> list[float | None]:
    """1.0 when the completion's answer equals the teacher's (by type, within tolerance), else 0.0
    (0.5 for a table with the right rows plus extra columns)."""
    return _each(completions, kwargs, _answer_score, {"answer": "answer", "tables": "tables"}, {"program": "teacher"})


def _plans(program, teacher, tables):
    student, reference = _run(tables, program), _run(tables, teacher)
    if isinstance(reference, DslError):
        raise reference
    return (None if isinstance(student, DslError) else student), reference


def _similarity_score(program, teacher, tables) -> float:
    student, reference = _plans(program, teacher, tables)
    return 0.0 if student is None else compare_plans(reference.plan, student.plan).similarity


def plan_similarity_reward(completions, **kwargs) -> list[float | None]:
    """How alike the completion's plan is to the teacher's, in [0, 1] (1.0 for the same canonical plan)."""
    return _each(completions, kwargs, _similarity_score, {"program": "teacher", "tables": "tables"})


def _hook_score(program, teacher, tables) -> float:
    def score():
        student, reference = _plans(program, teacher, tables)
        if student is None:
            return 0.0
        engine = engine_for_tables(tables)  # the plans are known: frames come back from the Engine's cache
        ours, theirs = engine.execute(reference.plan).frames, engine.execute(student.plan).frames
        return hook_coverage(reference.plan, ours, student.plan, theirs, fingerprints_for(engine)).coverage

    return _HOOKS.remember((_tables_key(tables), teacher, program), score)


def hook_reward(completions, **kwargs) -> list[float | None]:
    """The share of the teacher's intermediate results the completion's program also computes."""
    return _each(completions, kwargs, _hook_score, {"program": "teacher", "tables": "tables"})


def _format_score(program, tables=None) -> float:
    try:
        parsed = parse(program)
    except DslError:
        return 0.0
    if not parsed.statements:
        return 0.0
    if parsed.answer is None:
        return 0.5  # parses, but never answers
    if tables is None:
        return 1.0
    student = _run(tables, program)
    return 1.0 if not isinstance(student, DslError) or student.phase in ("execution", "limit") else 0.5


def format_reward(completions, **kwargs) -> list[float | None]:
    """1.0 when the completion's program parses, has an ``answer`` and checks against the
    tables; 0.5 when it parses but does not check or never answers; 0.0 otherwise (empty or
    unparsable). With no ``tables`` column, checking is skipped."""
    return _each(completions, kwargs, _format_score, {}, {"tables": "tables"})


REWARDS = (answer_reward, plan_similarity_reward, hook_reward, format_reward)
