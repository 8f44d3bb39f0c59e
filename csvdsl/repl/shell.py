"""The shell: a Session plus what the shell remembers, running one input at a time."""

from __future__ import annotations

import time

import networkx as nx

from csvdsl import ast
from csvdsl.check import check
from csvdsl.errors import DslError, did_you_mean, internal_error, name_hint
from csvdsl.parse import parse
from csvdsl.program import table_types
from csvdsl.repl.commands import ALIASES, COMMANDS, Command, CommandError, Word, command_words, how_many
from csvdsl.repl.output import answer_label, duration
from csvdsl.session import Session
from csvdsl.tables import Catalog
from planner.compile import Plan, compile_program


class Shell:
    """A Session plus what the shell remembers (loaded tables, the last answer, the last
    pipeline, settings); ``submit`` runs one input: a program or a meta-command."""

    def __init__(self, session: Session, output, rows: int = 20, file: str | None = None):
        self.session = session
        self.output = output
        self.rows = rows
        self.file = file  # how errors name the input: "<stdin>" in script mode
        self.timing = False
        self.done = False
        self.answer: tuple[int, ast.Answer] | None = None  # with how many bindings came before it
        self.last_pipeline: str | None = None  # source of the last binding or pipeline that ran

    @property
    def catalog(self) -> Catalog:
        return self.session.engine.catalog

    def names(self) -> frozenset[str]:
        return frozenset(self.catalog.names()) | {b.name for b in self.session.bindings}

    def submit(self, text: str) -> bool:
        """Run one input; False when it failed (the error has been shown and the session goes on)."""
        text = text.rstrip()  # a blank line that ended the input is not part of the program
        if not text.strip():
            return True
        if text.lstrip().startswith(":"):
            return self._command(text)
        return self._program(text)

    # programs

    def _program(self, text: str) -> bool:
        started = time.perf_counter()
        observation = self.session.run(text)
        elapsed = time.perf_counter() - started
        if observation.error is not None:
            self._show_error(observation.error, text)
        else:
            self._remember(text)
            for value in observation.values:
                self.output.result(value, answer_label(value) if value is observation.answer else None, self.rows)
            if not observation.values:
                names = [s.name for s in parse(text).statements if isinstance(s, ast.Binding)]
                if names:
                    self.output.bound(names)
        if self.timing:
            self.output.note(duration(elapsed))
        return observation.ok

    def _show_error(self, error: DslError, text: str) -> None:
        if error.file is None:
            error.file = self.file
        word = text.strip()
        if error.code == "unknown-table" and word in COMMANDS | ALIASES:
            error.hint = f"meta-commands start with a colon: `:{word}`"  # a habit from other shells
        self.output.error(error)

    def _remember(self, text: str) -> None:
        statements = parse(text).statements
        before = len(self.session.bindings) - sum(isinstance(s, ast.Binding) for s in statements)
        lines = text.split("\n")
        for statement in statements:
            if isinstance(statement, ast.Binding):
                before += 1
            if isinstance(statement, ast.Answer):
                self.answer = (before, statement)
            if isinstance(statement, (ast.Binding, ast.Show)) and statement.span is not None:
                self.last_pipeline = "\n".join(lines[statement.span.line - 1: statement.span.end_line]).strip()

    def program(self) -> list:
        """The session as one program: its bindings in order, the last answer where it ran."""
        statements = list(self.session.bindings)
        if self.answer is not None:
            statements.insert(self.answer[0], self.answer[1])
        return statements

    def plan(self, name: Word | None) -> Plan:
        statements = self.program()
        if not statements:
            raise CommandError("nothing-to-plan", "the session has no bindings or answer yet",
                               hint="bind a result first, e.g. `late = flights | filter dep_delay > 60`")
        plan = compile_program(check(ast.Program(tuple(statements)), table_types(self.catalog)))
        if name is None:
            return plan
        if name.text not in plan.bindings:
            raise CommandError("unknown-binding", f"no binding named `{name.text}`", span=name.span,
                               hint=name_hint(name.text, list(plan.bindings), "bindings"))
        node = plan.bindings[name.text]
        nodes = nx.ancestors(plan.graph, node) | {node}
        return Plan(plan.graph.subgraph(nodes).copy(), [], {name.text: node}, node)

    # meta-commands

    def _command(self, text: str) -> bool:
        words: list[Word] = []
        try:
            words = command_words(text)
            command = self._lookup(words[0])
            arguments = words[1:]
            low, high = command.arity
            if not low <= len(arguments) <= high:
                where = arguments[high].span if len(arguments) > high else words[-1].span
                raise CommandError("command-usage", f"`{words[0].text}` takes {how_many(low, high)}", span=where,
                                   hint=f"usage: {command.usage}")
            command.run(self, arguments)
            return True
        except CommandError as error:
            if error.span is None and words:
                error.span = words[0].span  # a command-wide problem: point at the command
            self._show_error(error.with_source(text), text)
        except DslError as error:  # a CSV file's own error carries the file and its line
            self._show_error(error, text)
        except Exception as error:  # a bug must not end the session
            self._show_error(internal_error(error).with_source(text), text)
        return False

    def _lookup(self, word: Word) -> "Command":
        name = word.text[1:]
        name = ALIASES.get(name, name)
        if name in COMMANDS:
            return COMMANDS[name]
        listed = ", ".join(f":{n}" for n in COMMANDS)
        if not name:
            raise CommandError("command-missing", "a colon starts a meta-command, but none is named", span=word.span,
                               hint=f"commands: {listed}")
        best = did_you_mean(name, list(COMMANDS) + list(ALIASES))
        hint = (f"did you mean `:{ALIASES.get(best, best)}`? " if best else "") + f"commands: {listed}"
        raise CommandError("unknown-command", f"there is no meta-command `{word.text}`", span=word.span, hint=hint)
