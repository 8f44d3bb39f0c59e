"""What the text before the cursor can refer to: tables, bindings and their columns."""

from __future__ import annotations

from typing import NamedTuple

from csvdsl import ast
from csvdsl.check import TableType, check
from csvdsl.errors import DslError, quote_name
from csvdsl.parse import parse
from csvdsl.program import table_types
from csvdsl.session import Session


class Candidate(NamedTuple):
    text: str  # as inserted (backticked when it must be)
    meta: str  # what it is: a column's type, "table", "binding", "function", "keyword"


class Scope:
    """What the text before the cursor can refer to: tables, session bindings, and the
    bindings of earlier statements in the same input, with their columns."""

    def __init__(self, session: Session, preceding: str):
        self.session = session
        self.tables = table_types(session.engine.catalog)
        self.preceding = self._parse_preceding(preceding)
        bindings = self._binding_types(self.preceding)
        if bindings is None:  # the earlier statements do not check: complete without them
            self.preceding, bindings = (), self._binding_types(()) or {}
        self.names = {**self.tables, **bindings}

    @staticmethod
    def _parse_preceding(text: str) -> tuple:
        try:
            return tuple(s for s in parse(text).statements if isinstance(s, ast.Binding)) if text.strip() else ()
        except DslError:
            return ()

    def _binding_types(self, extra: tuple) -> dict[str, TableType] | None:
        statements = tuple(self.session.bindings) + extra
        try:
            checked = check(ast.Program(statements), self.tables)
        except DslError:
            return None
        return {s.name: checked.statement_types[i] for i, s in enumerate(statements)}

    def pipeline_type(self, pipeline: str) -> TableType | None:
        """The type the pipeline text produces, with or without the input's earlier statements."""
        try:
            statements = parse(pipeline).statements
        except DslError:
            return None
        if len(statements) != 1 or isinstance(statements[0], (ast.Answer, ast.Describe, ast.ListTables)):
            return None
        for extra in (self.preceding, ()):
            try:
                program = ast.Program(tuple(self.session.bindings) + extra + statements)
                return check(program, self.tables).statement_types[len(program.statements) - 1]
            except DslError:
                continue
        return None

    def candidates(self) -> list[Candidate]:
        binding_names = {b.name for b in self.session.bindings} | {b.name for b in self.preceding}
        return [Candidate(quote_name(n), "binding" if n in binding_names else "table") for n in self.names]
