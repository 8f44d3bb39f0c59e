"""Reward functions in TRL's GRPOTrainer signature, ``fn(completions, **kwargs) -> list[float | None]``.

Each reads the dataset's extra columns from kwargs (one value per completion): ``answer``
(the teacher's typed answer ``{"type", "value"}``, a dict or a JSON string), ``program``
(the teacher's program) and ``tables`` (table names mapped to sha256, found through
``use_dataset``, or to CSV paths; a dict or a JSON string). A completion is a string, or a
conversation: the programs of its assistant turns (fenced blocks or ``run`` tool calls) run
one after the other, each after the bindings of the earlier ones, as the agent loop's
Session runs them. Tables are loaded once per process and every
program runs through one Engine per set of tables, so shared steps are computed once.
Completions are scored in a pool of supervised worker processes (``supervise``, see
``verifier.pool``): one whose programs overrun is stopped, its worker replaced, and the
completion scores 0.0.

The answer reward follows test-suite accuracy: a completion scores only if its program
agrees with the teacher's on the tables and on every variant of them (``verifier.variants``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from csvdsl import ast
from csvdsl.engine import Engine
from csvdsl.errors import DslError
from csvdsl.format import format_program
from csvdsl.parse import parse
from csvdsl.program import ProgramRun
from csvdsl.reply import find_program
from csvdsl.tables.info import file_sha256
from planner.cache import LruDict
from planner.execute import Execution
from verifier.answers import compare, typed
from verifier.hooks import fingerprints_for, hook_coverage
from verifier.pool import WorkerPool, default_workers
from verifier.structure import compare_plans
from verifier.table_store import TableNotFound, generation, resolve, use_dataset
from verifier.variants import answer_parts, extremes, variant_catalogs, without

__all__ = ["REWARDS", "answer_reward", "completion_programs", "engine_for_tables", "extract_program", "format_reward",
           "hook_reward", "plan_similarity_reward", "run_untrusted", "supervise", "use_dataset"]

_ENGINES = LruDict(8)  # tables key -> Engine
_VARIANTS = LruDict(8)  # tables key -> {"near" or "extreme": [(variant key, Engine)]}
_WITHOUT = LruDict(16)  # variant key -> the Engine of the tables without an answer's rows, or None
_RUNS = LruDict(8192)  # (engine key, program) -> ProgramRun | DslError
_SUITES = LruDict(2048)  # (tables key, teacher) -> _Suite
_COMBINED = LruDict(4096)  # (tables key, turn programs) -> the conversation as one program
_HOOKS = LruDict(4096)  # (tables key, teacher plan, student plan) -> hook coverage
_SIMILARITIES = LruDict(4096)  # (teacher plan, student plan) -> plan similarity


class _Supervision:
    """Where completions are scored: in a pool of supervised workers (the default), each killed
    and replaced when one completion's scoring overruns ``timeout`` seconds, or in this process."""

    def __init__(self):
        self.on, self.timeout, self.pool = True, SCORE_TIMEOUT, None
        self.workers: int | None = None  # the pool's size; None: default_workers(), read on first use

    def size(self) -> int:
        if self.workers is None:
            self.workers = default_workers()
        return self.workers

    def score_all(self, score, calls: list[tuple], keys: list | None = None) -> list:
        """``score(completion, **arguments)`` for each (completion, arguments): its result, or
        the exception it raised; a completion that overran the timeout, or that cannot be sent
        to its worker, scores 0.0. ``keys`` (each call's prompt) spread the calls over the
        pool as ``WorkerPool.map_batch`` does; without them every call goes to the first worker."""
        if not self.on:
            return [_attempt(score, completion, arguments) for completion, arguments in calls]
        results, work = [None] * len(calls), []
        for index, (completion, arguments) in enumerate(calls):
            try:  # tables found here, so the worker needs no use_dataset of its own
                if arguments.get("tables") is not None:
                    arguments = {**arguments, "tables": _local_tables(arguments["tables"])}
            except Exception as error:  # noqa: BLE001 - _each decides what it scores (TableNotFound raises)
                results[index] = error
                continue
            work.append((index, (score, completion, arguments)))
        if work:
            if self.pool is None:
                self.pool = WorkerPool(self.size())
            items = [item for _, item in work]
            if keys is None:
                scored = self.pool.map(_score_in_worker, items, [0] * len(items), timeout=self.timeout)
            else:  # the batch as the four rewards all see it: its prompts and completions
                batch_keys = [keys[index] for index, _ in work]
                batch = hashlib.sha256(json.dumps([[key, item[1]] for key, item in zip(batch_keys, items)],
                                                  default=str).encode()).hexdigest()
                scored = self.pool.map_batch(_score_in_worker, items, batch_keys, batch, timeout=self.timeout)
            for (index, _), result in zip(work, scored):
                results[index] = 0.0 if isinstance(result, DslError) and result.code in _LOST else result
        return results

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None


_LOST = ("timeout", "worker-lost", "unsendable")  # the worker's own errors: the completion scores 0.0


def _attempt(score, completion, arguments: dict):
    try:
        return score(completion, **arguments)
    except Exception as error:  # noqa: BLE001 - _each decides what each exception scores
        return error


SCORE_TIMEOUT = 120.0  # seconds to score one completion (its programs, and their runs on the variants)
_SUPERVISION = _Supervision()


def supervise(on: bool = True, timeout: float = SCORE_TIMEOUT, workers: int | None = None) -> None:
    """Score completions in a pool of supervised worker processes (``on``, the default) or in
    this process; past ``timeout`` seconds for one completion its worker is killed and replaced
    and the completion scores 0.0, so no program can hold a training step. ``workers`` is the
    pool's size (default: ``pool.default_workers()``, the usable cores up to 4, or
    ``CSVDSL_REWARD_WORKERS``); each worker starts on first use and loads the tables itself."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"supervise(workers={workers!r}): the number of worker processes, 1 or more")
    size = workers if workers is not None or not on else default_workers()  # None: found when first needed
    if not on or size != _SUPERVISION.workers:
        _SUPERVISION.close()
    _SUPERVISION.on, _SUPERVISION.timeout, _SUPERVISION.workers = on, timeout, size


def clear_caches() -> None:
    """Forget every run, suite (the teacher's answers on the variants), hook and similarity
    known so far, in this process and in every worker; the tables and their variants stay loaded."""
    for cache in (_RUNS, _SUITES, _COMBINED, _HOOKS, _SIMILARITIES):
        cache.clear()
    for engine in _ENGINES.values():  # variant engines keep no cache (VARIANT_CACHE_BYTES)
        if engine.cache is not None:
            engine.cache.clear()
    if _SUPERVISION.on and _SUPERVISION.pool is not None:
        _SUPERVISION.pool.placed.clear()  # nothing is cached where a batch went: the next one is handed out anew
        for result in _SUPERVISION.pool.call_running(_clear_in_worker):
            if isinstance(result, DslError):
                raise result


def _clear_in_worker() -> None:
    _SUPERVISION.on = False  # in the worker itself: nothing to forward
    clear_caches()


def _score_in_worker(score, completion, arguments: dict) -> float:
    """Run in the worker: the same score, with the worker's own engines and caches."""
    return float(score(completion, **arguments))


def _local_tables(tables) -> str:
    """A row's tables as names mapped to local CSV paths (from names mapped to sha256)."""
    key = (generation(), _tables_key(tables))  # a dataset registered or forgotten since: found again
    return _RESOLVED.remember(key, lambda: _tables_key(resolve(_json(tables))))


_RESOLVED = LruDict(1024)  # tables key -> the same tables as local paths
VARIANT_CACHE_BYTES = 0  # a variant runs a task's few programs once each: caching costs more than it saves


def run_untrusted(engine: Engine, program: str, like: ProgramRun | None = None) -> ProgramRun | DslError:
    """The one place a completion's program runs: its run without intermediate tables (the
    Engine's own byte-bounded cache keeps those), or the DslError it raised. ``like`` is the
    same program's run on tables of the same schema (a variant's original): its checked plan
    is executed as it is, without parsing and checking again, for its answer only."""
    try:
        if like is None:
            run = engine.run(program)
            checked, plan, execution = run.checked, run.plan, run.execution
        else:
            answers = [output for output in like.plan.outputs if output.kind == "answer"]  # what a variant checks
            checked, plan, execution = like.checked, like.plan, engine.execute(like.plan, outputs=answers, keep=())
    except DslError as error:
        return error.with_source(program)
    return ProgramRun(checked, plan, Execution(outputs=execution.outputs))


# ---------------------------------------------------------------- completions


def completion_programs(completion) -> list[str]:
    """The programs a completion holds, one per assistant turn: a string's fenced block (or
    its whole text), or each assistant message's fenced block and ``run`` tool calls."""
    if isinstance(completion, str):
        program = find_program(completion)
        return [completion if program is None else program]
    if isinstance(completion, dict):
        completion = [completion]
    if not isinstance(completion, (list, tuple)):
        return []
    messages = [m for m in completion if isinstance(m, dict)]
    assistant = [m for m in messages if m.get("role", "assistant") == "assistant"] or messages[-1:]
    programs = []
    for message in assistant:
        calls = [_call_program(call) for call in message.get("tool_calls") or ()]
        text = str(message.get("content") or "")
        fenced = find_program(text)
        if fenced is not None:
            programs.append(fenced)
        programs += [p for p in calls if p is not None]
        if fenced is None and not calls and text.strip():
            programs.append(text)
    return programs


def _call_program(call) -> str | None:
    """The program a tool call passes (``{"function": {"name": "run", "arguments": {"program": ...}}}``)."""
    if not isinstance(call, dict):
        return None
    function = call.get("function", call)
    arguments = function.get("arguments") if isinstance(function, dict) else None
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    program = arguments.get("program") if isinstance(arguments, dict) else None
    return program if isinstance(program, str) else None


def extract_program(completion) -> str:
    """A single-program completion's program (its last fenced block, else its text); for a
    conversation, the programs of its turns, joined as they were written."""
    return "\n".join(completion_programs(completion))


def _program_of(completion, tables, key: str) -> str:
    """What a completion computes, as one program: for a conversation, its turns run as the
    agent loop's Session runs them (see ``_combine``)."""
    programs = completion_programs(completion)
    if len(programs) <= 1:
        return programs[0] if programs else ""
    return _COMBINED.remember((key, tuple(programs)), lambda: _combine(programs, key, engine_for_tables(tables, key)))


def _combine(programs: list[str], key: str, engine: Engine) -> str:
    """A conversation's turns as one program. Each turn runs (through ``run_untrusted``) after
    the bindings the earlier turns made, as a Session runs it: a turn that fails leaves
    nothing bound. The program is the bindings made before the last ``answer`` that ran,
    then that answer (without one: every binding)."""
    bindings: list = []
    answer = None  # (how many bindings it saw, the statement)
    for program in programs:
        prior = format_program(ast.Program(tuple(bindings))) if bindings else ""
        run = _run(key, engine, prior + program)
        if isinstance(run, DslError):
            continue
        for statement in run.checked.program.statements[len(bindings):]:
            if isinstance(statement, ast.Binding):
                bindings.append(statement)
            elif isinstance(statement, ast.Answer):
                answer = (len(bindings), statement)
    kept = bindings if answer is None else bindings[:answer[0]] + [answer[1]]
    return format_program(ast.Program(tuple(kept))) if kept else programs[-1]


# ---------------------------------------------------------------- tables and runs


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _tables_key(tables) -> str:
    if isinstance(tables, str):  # a dataset's column repeats one text row after row: read once
        return _KEYS.remember(tables, lambda: json.dumps(json.loads(tables), sort_keys=True))
    return json.dumps(tables, sort_keys=True)


_KEYS = LruDict(1024)  # a tables column's JSON text -> its _tables_key


def engine_for_tables(tables, key: str | None = None) -> Engine:
    """The process-wide Engine for a set of tables (loaded on first use); ``key`` is their
    ``_tables_key`` when the caller has it already. A table no dataset holds raises ``TableNotFound``."""
    return _ENGINES.remember(key or _tables_key(tables), lambda: Engine(resolve(_json(tables))))


def _run(key: str, engine: Engine, program: str, like: ProgramRun | None = None) -> ProgramRun | DslError:
    return _RUNS.remember((key, program), lambda: run_untrusted(engine, program, like))


def _variant_engines(key: str, engine: Engine, extreme: bool) -> list[tuple[str, Engine]]:
    made = _VARIANTS.remember(key, dict)
    kind = "extreme" if extreme else "near"
    if kind not in made:
        seed = _content_key(engine)
        catalogs = extremes(engine.catalog, seed) if extreme else variant_catalogs(engine.catalog, seed)
        made[kind] = [(f"{key}#{name}", Engine(catalog, cache_bytes=VARIANT_CACHE_BYTES)) for name, catalog in catalogs]
    return made[kind]


def _without(key: str, engine: Engine, answer):
    """The variant key and maker of the tables without the rows that hold the answer's values
    (``variants.without``): the maker gives the Engine (made once, in ``_WITHOUT``: each
    answer has its own, so only the latest few are kept), or None when no row holds one."""
    values = answer.value if answer.kind == "list" else [answer.value] if answer.kind in ("string", "number") else []
    texts, numbers = answer_parts(values)
    variant_key = f"{key}#without:" + json.dumps([texts, numbers])

    def make():
        catalog = without(engine.catalog, _content_key(engine), texts, numbers)
        return None if catalog is None else Engine(catalog, cache_bytes=VARIANT_CACHE_BYTES)

    return variant_key, lambda: _WITHOUT.remember(variant_key, make)


def _content_key(engine: Engine) -> str:
    """The tables' names and file sha256s: what seeds their variants, wherever the files are."""
    tables = [engine.catalog[name] for name in engine.catalog.names()]
    return json.dumps({t.name: file_sha256(t.path) if t.path else None for t in tables}, sort_keys=True)


@dataclass
class _Suite:
    """The teacher's answers on the variants of a task's tables (where its program runs), and
    whether any differs from its answer on the tables themselves."""

    checks: list[tuple[str, Callable[[], Engine], dict]]  # (variant key, its Engine's maker, the teacher's answer)
    discriminating: bool


def _suite(key: str, engine: Engine, teacher: str, reference: ProgramRun) -> _Suite:
    def make():
        original = typed(reference.answer)
        checks, changed = [], False
        for stage in ("near", "extreme", "without"):  # farther variants only when no nearer one changes the answer
            if stage == "without":
                variant_key, variant = _without(key, engine, reference.answer)
                variants = [(variant_key, variant)] if variant() is not None else []
            else:  # an engine kept per tables in _VARIANTS
                variants = [(variant_key, lambda made=made: made)
                            for variant_key, made in _variant_engines(key, engine, extreme=stage == "extreme")]
            for variant_key, variant in variants:
                run = _run(variant_key, variant(), teacher, reference)
                if isinstance(run, DslError) or run.answer is None or _degenerate(run.answer):
                    continue  # the teacher's program has nothing to say on this variant
                checks.append((variant_key, variant, typed(run.answer)))
                changed = changed or compare(original, run.answer).score < 1.0
            if changed:
                break
        checks.sort(key=lambda check: compare(original, check[2]).score == 1.0)  # telling variants first: hacks fail fast
        return _Suite(checks, changed)

    return _SUITES.remember((key, teacher), make)


def _degenerate(value) -> bool:
    """A null or an empty answer: what the generator rejects as a task's answer."""
    return value.kind == "null" or (value.kind in ("list", "table") and len(value.value) == 0)


def _reads_a_table(run: ProgramRun) -> bool:
    return any(run.plan.node(n)["op"] == "source" for n in run.plan.needed())


# ---------------------------------------------------------------- scores


def _column(kwargs: dict, name: str, index: int):
    values = kwargs.get(name)
    if values is None or isinstance(values, (str, bytes, dict)):
        return values  # one value for every completion
    return values[index]  # a list, or a datasets column


def _each(completions, kwargs, score, required: dict[str, str], optional: dict[str, str] | None = None) -> list[float | None]:
    """Score each completion; ``required`` and ``optional`` map dataset columns to the score's
    parameter names. A row missing a required column gets None (TRL skips it); a table that
    cannot be found raises ``TableNotFound`` (a setup mistake, not a bad completion)."""
    slots, calls = [], []
    for index, completion in enumerate(completions):
        arguments = {parameter: _column(kwargs, column, index) for column, parameter in required.items()}
        if any(value is None for value in arguments.values()):
            slots.append(None)
            continue
        arguments.update({parameter: _column(kwargs, column, index) for column, parameter in (optional or {}).items()})
        slots.append(len(calls))
        calls.append((completion, arguments))
    keys = [_group(kwargs, index) for index, slot in enumerate(slots) if slot is not None]
    results = _SUPERVISION.score_all(score, calls, keys)
    return [None if slot is None else _reward(results[slot]) for slot in slots]


def _group(kwargs: dict, index: int) -> tuple:
    """A completion's prompt, as far as the caches go: its tables and its teacher's program,
    read from the dataset's columns (TRL passes every column to every reward), so the four
    rewards place a batch's completions on the same workers."""
    try:
        values = _column(kwargs, "tables", index), _column(kwargs, "program", index)
    except (IndexError, KeyError, TypeError):
        return (None, None)  # a column too short: _each says what it scores
    return tuple(value if value is None or isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
                 for value in values)


def _reward(result) -> float | None:
    if isinstance(result, TableNotFound):
        raise result
    if isinstance(result, DslError):
        return None  # the teacher's program fails: this row cannot be scored
    try:
        return 0.0 if isinstance(result, Exception) else float(result)  # a reward must never stop training
    except (TypeError, ValueError):
        return 0.0


def _answer_score(completion, answer, tables, teacher=None) -> float:
    key = _tables_key(tables)
    engine = engine_for_tables(tables, key)
    program = _program_of(completion, tables, key)
    student = _run(key, engine, program)
    if isinstance(student, DslError) or student.answer is None:
        return 0.0
    expected = typed(_json(answer))
    if teacher is None:  # no program to derive variants from: the answer alone is compared
        return compare(expected, student.answer).score
    reference = _run(key, engine, teacher)
    if isinstance(reference, DslError):
        raise reference
    if reference.answer is not None:  # the teacher's run says whether order was asked for
        expected["ordered"] = bool(reference.answer.ordered)
    score = compare(expected, student.answer).score
    if score == 0.0 or student.plan.root == reference.plan.root:
        return score  # wrong, or the teacher's own computation (equal canonical plans agree on any data)
    if reference.answer is None:
        return score
    suite = _suite(key, engine, teacher, reference)
    if not suite.discriminating and not _reads_a_table(student):
        return 0.0  # no variant tells, but a literal answer never comes from the tables
    for variant_key, variant, wanted in suite.checks:
        run = _run(variant_key, variant(), program, student)
        if isinstance(run, DslError) or run.answer is None or compare(wanted, run.answer).score < score:
            return 0.0
    return score


def answer_reward(completions, **kwargs) -> list[float | None]:
    """1.0 when the completion's answer equals the teacher's (by type, within tolerance) on the
    tables and on every variant of them, else 0.0 (0.5 for a table with the right rows plus
    extra columns)."""
    return _each(completions, kwargs, _answer_score, {"answer": "answer", "tables": "tables"}, {"program": "teacher"})


def _plans(completion, teacher, tables, key: str):
    engine = engine_for_tables(tables, key)
    student, reference = _run(key, engine, _program_of(completion, tables, key)), _run(key, engine, teacher)
    if isinstance(reference, DslError):
        raise reference
    return (None if isinstance(student, DslError) else student), reference


def _identity(run: ProgramRun) -> tuple:
    """What a plan is: its nodes (content hashes) and outputs; equal for programs that compute the same."""
    return frozenset(run.plan.graph), tuple((o.kind, o.node) for o in run.plan.outputs)


def _similarity_score(completion, teacher, tables) -> float:
    student, reference = _plans(completion, teacher, tables, _tables_key(tables))
    if student is None:
        return 0.0
    return _SIMILARITIES.remember((_identity(reference), _identity(student)),
                                  lambda: compare_plans(reference.plan, student.plan, script=False).similarity)


def plan_similarity_reward(completions, **kwargs) -> list[float | None]:
    """How alike the completion's plan is to the teacher's, in [0, 1] (1.0 for the same canonical plan)."""
    return _each(completions, kwargs, _similarity_score, {"program": "teacher", "tables": "tables"})


def _hook_score(completion, teacher, tables) -> float:
    key = _tables_key(tables)
    student, reference = _plans(completion, teacher, tables, key)
    if student is None or student.plan.root == reference.plan.root:
        return 0.0 if student is None else 1.0

    def score():
        engine = engine_for_tables(tables, key)
        ours, theirs = _frames(engine, reference.plan), _frames(engine, student.plan)
        # A hook only appears in a table of as many rows: the others need no fingerprint.
        sizes = {_height(frame) for frame in ours.values()}
        theirs = {node: frame for node, frame in theirs.items() if _height(frame) in sizes}
        return hook_coverage(reference.plan, ours, student.plan, theirs, fingerprints_for(engine)).coverage

    return _HOOKS.remember((key, _identity(reference), _identity(student)), score)


def _frames(engine: Engine, plan) -> dict:
    """The intermediate results of a plan that has run: from the Engine's cache (no execution,
    no accounting again), or by executing it when one was evicted."""
    frames = {}
    for node in plan.needed():
        if plan.node(node)["op"] in ("source", "answer"):
            continue  # never hooks
        frame = engine.cache.get(node) if engine.cache is not None else None
        if frame is None:
            return engine.execute(plan).frames
        frames[node] = frame
    return frames


def _height(result) -> int | None:
    return len(result) if isinstance(result, pd.DataFrame) else None


def hook_reward(completions, **kwargs) -> list[float | None]:
    """The share of the teacher's intermediate results the completion's program also computes."""
    return _each(completions, kwargs, _hook_score, {"program": "teacher", "tables": "tables"})


def _format_score(completion, tables=None) -> float:
    if tables is None:
        return _form(extract_program(completion), None)
    key = _tables_key(tables)
    program = _program_of(completion, tables, key)
    return _form(program, _run(key, engine_for_tables(tables, key), program))


def _form(program: str, run: ProgramRun | DslError | None) -> float:
    """The format score of a program, from its run when there is one (no second parse)."""
    if isinstance(run, ProgramRun):
        parsed, checks = run.checked.program, True
    else:
        try:
            parsed = parse(program)
        except DslError:
            return 0.0
        checks = run is None or run.phase in ("execution", "limit")
    does_something = parsed.answer is not None or any(
        not isinstance(s, ast.Show) or s.pipeline.transforms for s in parsed.statements)
    if not does_something:
        return 0.0  # empty, or a bare word: `gibberish`, `flights`
    if parsed.answer is None:
        return 0.5 if checks else 0.0  # a program that explores, but never answers
    return 1.0 if checks else 0.5


def format_reward(completions, **kwargs) -> list[float | None]:
    """1.0 when the completion's program parses, has an ``answer`` and checks against the
    tables; 0.5 when it answers but does not check, or checks and does something but never
    answers; 0.0 for text that is not a program of the language (prose, a bare word).
    With no ``tables`` column, checking is skipped."""
    return _each(completions, kwargs, _format_score, {}, {"tables": "tables"})


REWARDS = (answer_reward, plan_similarity_reward, hook_reward, format_reward)
