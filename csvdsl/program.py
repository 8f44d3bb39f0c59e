"""One program from text to values: parse, check against the catalog, compile, execute."""

from __future__ import annotations

import functools
import math
from contextlib import nullcontext
from dataclasses import dataclass

from csvdsl import ast
from csvdsl.check import CheckedProgram, TableType, check
from csvdsl.errors import DslError, LimitError, Span, quote_name
from csvdsl.limits import Deadline, Limits, hard_stop
from csvdsl.parse import parse
from csvdsl.tables import Catalog
from planner.compile import Plan, compile_program
from planner.execute import Execution, execute


@dataclass
class ProgramRun:
    """Everything a run produced, from the checked program to the values."""

    checked: CheckedProgram
    plan: Plan
    execution: Execution

    @property
    def answer(self):
        return self.execution.answer


def table_types(catalog: Catalog) -> dict[str, TableType]:
    """The static type of every table in a catalog."""
    return {name: TableType(tuple(catalog[name].schema.items())) for name in catalog.names()}


def parse_within_limits(text: str, limits: Limits, file: str | None = None) -> ast.Program:
    """Parse, refusing programs longer or more deeply nested than the limits allow."""
    limit = limits.max_program_chars
    if limit is not None and len(text) > limit:
        cut = min(max(math.ceil(limit), 0), len(text) - 1)  # the first character over (a limit may be a float)
        past = Span(text.count("\n", 0, cut) + 1, cut - text.rfind("\n", 0, cut))
        raise LimitError("program-too-long", f"the program has {len(text):,} characters, over the limit of {limit:,}",
                         span=past, hint="split it, or raise Limits(max_program_chars=...)")
    program = parse(text, file)  # parse reports a RecursionError as expression-too-deep itself
    if limits.max_expression_depth is not None:
        for expr in _expressions(program):
            depth, deepest = ast.deepest(expr)
            if depth > limits.max_expression_depth:
                raise LimitError("expression-too-deep", f"an expression nests {depth} levels deep, over the limit of "
                                 f"{limits.max_expression_depth}", span=deepest.span or expr.span,
                                 hint="split it with derive or bindings, or raise Limits(max_expression_depth=...)")
    return program


def _expressions(program: ast.Program):
    from planner.ops import spec_exprs

    for statement in program.statements:
        if isinstance(statement, ast.Answer):
            yield statement.expr
        if not isinstance(statement, (ast.Binding, ast.Show)):
            continue
        for transform in statement.pipeline.transforms:
            yield from spec_exprs(transform)


@functools.cache
def prepare() -> None:
    """Build the parser and the grammar's name tables once per process, before any program's
    deadline starts: they are the process's cost, not the program's."""
    parse("answer 1\n")
    quote_name("a b")


def plan_program(text: str, catalog: Catalog, file: str | None = None, canonical: bool = True,
                 limits: Limits | None = None, deadline: Deadline | None = None) -> tuple[CheckedProgram, Plan]:
    """Parse, check and compile within the limits (``deadline`` counts from the first stage:
    the time of every stage is the program's); raises ``DslError`` with the source attached."""
    limits = limits or Limits()
    prepare()
    deadline = deadline or Deadline(limits.timeout)
    try:
        program = parse_within_limits(text, limits, file)
        deadline.check("after parsing")
        checked = check(program, table_types(catalog))
        deadline.check("after checking")
        plan = compile_program(checked, canonical)
        deadline.check("after compiling")
        return checked, plan
    except DslError as error:
        raise error.with_source(text, file)
    except RecursionError:
        raise too_deep(text).with_source(text, file) from None


def too_deep(text: str | None = None) -> LimitError:
    """A program whose nesting (of expressions or of a chain of bindings) Python cannot follow,
    reported at its deepest expression if that is deep, else at its last statement."""
    span = None
    try:
        statements = parse(text).statements if text is not None else ()
    except DslError:
        statements = ()
    if statements:
        depth, deepest, expr = max(((*ast.deepest(e), e) for e in _expressions(ast.Program(statements))),
                                   key=lambda found: found[0], default=(0, None, None))
        span = (deepest.span or expr.span) if depth >= _DEEP else statements[-1].span
    return LimitError("program-too-deep", "the program nests too deeply to process", span=span,
                      hint="split deep expressions with derive or bindings, or use fewer chained rebinds of one name")


_DEEP = 100  # an expression this deep is the likely cause; else a long chain of bindings is


def run_program(text: str, catalog: Catalog, limits: Limits | None = None, file: str | None = None,
                engine=None, hard: bool = False, keep="all") -> ProgramRun:
    """Run a program over the catalog's tables (through ``engine``'s cache when given). One
    deadline covers every stage; ``hard`` also interrupts a single long step (main thread only);
    ``keep`` is which intermediate results stay in ``execution.frames`` ("all", or node ids:
    the others are freed after their last use, so the byte limit counts less)."""
    limits = limits or Limits()
    prepare()
    deadline = Deadline(limits.timeout)
    try:
        with hard_stop(deadline) if hard else nullcontext():
            checked, plan = plan_program(text, catalog, file, limits=limits, deadline=deadline)
            if engine is not None:
                execution = engine.execute(plan, limits, deadline=deadline, keep=keep)
            else:
                execution = execute(plan, {n: catalog[n].frame for n in catalog.names()}, limits, deadline=deadline, keep=keep)
    except DslError as error:
        raise error.with_source(text, file)
    return ProgramRun(checked, plan, execution)
