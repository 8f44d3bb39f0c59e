"""A multi-turn environment for a model: bindings persist between ``run`` calls, every
observation is bounded, and errors come back as text with the caret and the hint."""

from __future__ import annotations

from dataclasses import dataclass, field

from csvdsl import ast
from csvdsl.check import check
from csvdsl.engine import Engine
from csvdsl.errors import DslError, ParseError, Span, internal_error
from csvdsl.limits import Deadline, Limits, hard_stop
from csvdsl.program import parse_within_limits, prepare, table_types, too_deep
from csvdsl.render import render_text
from planner.compile import Output, compile_program
from planner.execute import Value

MAX_ROWS = 10
MAX_CHARS = 4000
DESCRIBE_ROWS = 60


@dataclass
class Observation:
    """What one ``run`` gave: ``text`` (what the model sees), ``answer`` (once an ``answer``
    ran), ``error`` (a DslError or None) and the typed values of each output."""

    text: str
    answer: Value | None = None
    error: DslError | None = None
    values: list[Value] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


class Session:
    """``Session(tables)`` where tables maps names to CSV paths or DataFrames (or an Engine)."""

    def __init__(self, tables, limits: Limits | None = None, max_rows: int = MAX_ROWS, max_chars: int = MAX_CHARS):
        self.engine = tables if isinstance(tables, Engine) else Engine(tables, limits=limits)
        self.limits = limits or self.engine.limits
        self.max_rows = max_rows
        self.max_chars = max_chars
        self.bindings: list[ast.Binding] = []  # every binding that ran, in order
        self.transcript: list[tuple[str, Observation]] = []
        self.answer: Value | None = None

    def run(self, text: str) -> Observation:
        """Run program text against the tables and the bindings made so far."""
        shown = text if isinstance(text, str) else repr(text)[:80]
        try:
            if not isinstance(text, str):  # a model's tool call may pass a number, null or a list
                raise ParseError("program-not-text", f"the program must be text, not {type(text).__name__}",
                                 span=Span(1, 1), hint="pass the program's source as one string")
            observation = self._run(text)
        except RecursionError:
            observation = error_observation(too_deep(text), shown, self.max_chars)  # text: a str by now
        except DslError as error:
            observation = error_observation(error, shown, self.max_chars)
        except Exception as error:  # a model must get an observation, never a crash
            observation = error_observation(internal_error(error), shown, self.max_chars)
        self.transcript.append((shown, observation))
        return observation

    def _run(self, text: str) -> Observation:
        prepare()
        deadline = Deadline(self.limits.timeout)  # one deadline for every stage of the turn
        with hard_stop(deadline):  # interrupts a long step on the main thread (the REPL)
            return self._stages(text, deadline)

    def _stages(self, text: str, deadline: Deadline) -> Observation:
        program = parse_within_limits(text, self.limits)
        deadline.check("after parsing")
        prior = len(self.bindings)
        combined = ast.Program(tuple(self.bindings) + program.statements)
        checked = check(combined, table_types(self.engine.catalog))
        deadline.check("after checking")
        plan = compile_program(checked)
        deadline.check("after compiling")
        outputs = [o for o in plan.outputs if o.statement >= prior]
        # New bindings run now, so a failing one fails this turn, not a later one.
        outputs += [Output(index, "binding", plan.bindings[s.name], checked.statement_types[index])
                    for index, s in enumerate(combined.statements) if index >= prior and isinstance(s, ast.Binding)
                    and plan.bindings.get(s.name) is not None and _last_binding(combined, s.name) == index]
        outputs.sort(key=lambda o: o.statement)
        # Only what this turn shows is kept: other results are freed after their last use.
        execution = self.engine.execute(plan, self.limits, outputs, deadline, keep=())
        self.bindings.extend(s for s in program.statements if isinstance(s, ast.Binding))
        parts, values, answer = [], [], None
        for output, value in execution.outputs:
            if output.kind == "binding":
                name = combined.statements[output.statement].name
                rows, columns = value.value.shape
                parts.append(f"bound {name}: {rows:,} row{'s' if rows != 1 else ''}, {columns} column{'s' if columns != 1 else ''}")
                continue
            values.append(value)
            if output.kind == "answer":
                answer = self.answer = value
                parts.append(f"answer ({value.kind}): {render_text(value, self.max_rows)}")
            else:
                # describe lists columns, not data rows: all of them, up to a generous bound
                rows = max(self.max_rows, DESCRIBE_ROWS) if output.kind == "describe" else self.max_rows
                parts.append(render_text(value, rows))
        if not parts:
            parts.append("ok")
        return Observation(_cut("\n\n".join(parts), self.max_chars), answer, None, values)

    def reset(self) -> None:
        """Forget the bindings (the tables and the cache stay)."""
        self.bindings.clear()
        self.answer = None


def _last_binding(program: ast.Program, name: str) -> int:
    return max(i for i, s in enumerate(program.statements) if isinstance(s, ast.Binding) and s.name == name)


def error_observation(error: DslError, text: str, max_chars: int) -> Observation:
    """A failed turn's observation: the error, with the line of ``text`` it points at, cut to ``max_chars``."""
    return Observation(_cut(error.with_source(text).render(), max_chars), error=error)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    cut = cut if cut > limit // 2 else limit
    return text[:cut] + f"\n... (output cut at {limit:,} characters)"
