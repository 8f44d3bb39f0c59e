"""One program from text to values: parse, check against the catalog, compile, execute."""

from __future__ import annotations

from dataclasses import dataclass

from csvdsl.check import CheckedProgram, TableType, check
from csvdsl.errors import DslError
from csvdsl.parse import parse
from csvdsl.tables import Catalog
from planner.compile import Plan, compile_program
from planner.execute import Execution, Limits, execute


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


def plan_program(text: str, catalog: Catalog, file: str | None = None) -> tuple[CheckedProgram, Plan]:
    """Parse, check and compile; raises ``DslError`` with the source attached."""
    try:
        checked = check(parse(text, file), table_types(catalog))
        return checked, compile_program(checked)
    except DslError as error:
        raise error.with_source(text, file)


def run_program(text: str, catalog: Catalog, limits: Limits | None = None, file: str | None = None) -> ProgramRun:
    """Run a program over the catalog's tables."""
    checked, plan = plan_program(text, catalog, file)
    try:
        execution = execute(plan, {n: catalog[n].frame for n in catalog.names()}, limits)
    except DslError as error:
        raise error.with_source(text, file)
    return ProgramRun(checked, plan, execution)
