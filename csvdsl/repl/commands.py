"""The meta-commands (``:help``, ``:tables``, ``:describe``, ``:plan``, ...): their words, table and handlers."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NamedTuple

from csvdsl import ast
from csvdsl.errors import DslError, Span, name_hint, quote_name
from csvdsl.format import format_program
from csvdsl.repl.scope import Scope
from csvdsl.tables import read_table, table_name_from_path
from planner.explain import explain_dot, explain_english, explain_text

if TYPE_CHECKING:
    from csvdsl.repl.shell import Shell


class CommandError(DslError):
    """A meta-command that cannot be carried out as typed."""

    phase = "command"


class Word(NamedTuple):
    text: str
    span: Span


_WORD = re.compile(r"\"([^\"]*)\"|'([^']*)'|(\S+)")


def command_words(text: str) -> list[Word]:
    """The words of a one-line meta-command, quotes removed, each with its position."""
    number = text[: text.index(":")].count("\n") + 1
    lines = text.split("\n")
    if any(line.strip() for line in lines[number:]):
        raise CommandError("command-one-line", "a meta-command takes one line", span=Span(number + 1, 1),
                           hint="press Enter after the command; put a program on its own input")
    return [Word(next(g for g in m.groups() if g is not None), Span(number, m.start() + 1, number, m.end() + 1))
            for m in _WORD.finditer(lines[number - 1])]


def how_many(low: int, high: int) -> str:
    if high == 0:
        return "no arguments"
    if low == high:
        return f"{low} argument{'s' if low != 1 else ''}"
    return f"{low} to {high} arguments"


def _binding_or_table(shell: Shell, word: Word) -> str:
    if word.text not in shell.names():
        raise CommandError("unknown-table", f"no table or binding named `{word.text}`", span=word.span,
                           hint=name_hint(word.text, sorted(shell.names()), "tables and bindings"))
    return word.text


def _help(shell: Shell, words: list[Word]) -> None:
    if words:
        command = shell._lookup(Word(":" + words[0].text.lstrip(":"), words[0].span))
        shell.output.block(f"{command.usage}\n  {command.summary}")
        return
    width = max(len(c.usage) for c in COMMANDS.values())
    lines = ["Type a program and press Enter to run it. Meta-commands:"]
    lines += [f"  {c.usage.ljust(width)}  {c.summary}" for c in COMMANDS.values()]
    lines.append("Keys:")
    lines += [f"  {key.ljust(10)}  {what}" for key, what in KEYS]
    shell.output.block("\n".join(lines))


def _tables(shell: Shell, words: list[Word]) -> None:
    observation = shell.session.run("tables")
    for value in observation.values:
        shell.output.result(value, None, max(shell.rows, len(shell.catalog)))
    scope = Scope(shell.session, "")
    bindings = [f"  {name}: {', '.join(quote_name(c) for c in scope.names[name].names)}"
                for name in dict.fromkeys(b.name for b in shell.session.bindings)]
    if bindings:
        shell.output.block("bindings:\n" + "\n".join(bindings))


def _describe(shell: Shell, words: list[Word]) -> None:
    name = _binding_or_table(shell, words[0])
    observation = shell.session.run(f"describe {quote_name(name)}")
    if observation.error is not None:
        raise observation.error
    for value in observation.values:  # every column, however many rows the shell shows
        shell.output.result(value, None, max(shell.rows, len(value.value)))


def _plan(shell: Shell, words: list[Word]) -> None:
    shell.output.block(explain_text(shell.plan(words[0] if words else None)))


def _explain(shell: Shell, words: list[Word]) -> None:
    shell.output.block("\n".join(explain_english(shell.plan(words[0] if words else None))))


def _dot(shell: Shell, words: list[Word]) -> None:
    binding_names = {b.name for b in shell.session.bindings}
    name = words[0] if words and (len(words) == 2 or words[0].text in binding_names) else None
    file = words[-1] if words and (len(words) == 2 or name is None) else None
    plan = shell.plan(name)
    path = Path(file.text if file else f"{name.text if name else 'plan'}.dot")
    _write(path, explain_dot(plan) + "\n", file)
    shell.output.note(f"wrote {path} ({plan.graph.number_of_nodes()} nodes); draw it with "
                      f"`dot -Tsvg {path} -o {path.with_suffix('.svg')}`")


def _load(shell: Shell, words: list[Word]) -> None:
    if len(words) == 2 or len(words) == 3 and words[1].text != "as":
        raise CommandError("command-usage", "expected `as NAME` after the path", span=words[1].span,
                           hint=f"usage: {COMMANDS['load'].usage}")
    path = words[0].text
    name = words[2].text if len(words) == 3 else table_name_from_path(path)
    table = read_table(Path(path).expanduser(), name)
    shell.session.engine.add_table(table)
    shell.output.note(f"loaded {name}: {len(table.frame):,} rows, {len(table.schema)} columns")


def _save(shell: Shell, words: list[Word]) -> None:
    statements = shell.program()
    if not statements:
        raise CommandError("nothing-to-save", "the session has no bindings or answer yet", span=words[0].span,
                           hint="bind a result or run an `answer` first")
    path = Path(words[0].text).expanduser()
    command = ["csvdsl", "run", str(path)]
    for name in shell.catalog.names():
        if shell.catalog[name].path:
            command += ["--csv", f"{name}={shell.catalog[name].path}"]
    header = f"# Saved from csvdsl repl. Run it with:\n#   {shlex.join(command)}\n"
    _write(path, header + format_program(ast.Program(tuple(statements))), words[0])
    shell.output.note(f"wrote {path} ({len(statements)} statement{'s' if len(statements) != 1 else ''})")


def _write(path: Path, text: str, word: Word | None) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise CommandError("cannot-write", f"cannot write {path}: {error.strerror or error}",
                           span=word.span if word else None, hint="check the directory exists and is writable") from None


def _timing(shell: Shell, words: list[Word]) -> None:
    if words:
        switch = {"on": True, "off": False}.get(words[0].text.lower())
        if switch is None:
            raise CommandError("timing-switch", f"`{words[0].text}` is not on or off", span=words[0].span,
                               hint="write `:timing on` or `:timing off`")
        shell.timing = switch
    shell.output.note(f"timing is {'on' if shell.timing else 'off'}")


def _reset(shell: Shell, words: list[Word]) -> None:
    shell.session.reset()
    shell.answer = shell.last_pipeline = None
    shell.output.note("forgot the bindings and the answer; the tables stay loaded")


def _quit(shell: Shell, words: list[Word]) -> None:
    shell.done = True


@dataclass(frozen=True)
class Command:
    usage: str
    summary: str
    run: Callable[[Shell, list[Word]], None]
    arity: tuple[int, int]
    arguments: str | None = None  # what its arguments complete to, a key of _ARGUMENT_CANDIDATES or "paths"


COMMANDS: dict[str, Command] = {
    "help": Command(":help [COMMAND]", "this help, or one command's", _help, (0, 1), "commands"),
    "tables": Command(":tables", "the tables (rows, columns) and the bindings (columns)", _tables, (0, 0)),
    "describe": Command(":describe NAME", "a table's or binding's columns: type, nulls, distinct, range", _describe,
                        (1, 1), "names"),
    "plan": Command(":plan [NAME]", "the plan as numbered bindings: the session's, or one binding's", _plan, (0, 1),
                    "bindings"),
    "dot": Command(":dot [NAME] [FILE]", "the plan as Graphviz DOT, written to FILE (default plan.dot)", _dot, (0, 2),
                   "bindings"),
    "explain": Command(":explain [NAME]", "the plan as numbered English steps", _explain, (0, 1), "bindings"),
    "load": Command(":load PATH [as NAME]", "read a CSV file as a table (named by its file stem)", _load, (1, 3), "paths"),
    "save": Command(":save FILE", "write the bindings and the last answer as a program for `csvdsl run`", _save, (1, 1),
                    "paths"),
    "timing": Command(":timing on|off", "show how long each program takes", _timing, (0, 1), "switch"),
    "reset": Command(":reset", "forget the bindings and the answer (the tables stay)", _reset, (0, 0)),
    "quit": Command(":quit", "leave (or Ctrl-D)", _quit, (0, 0)),
}
ALIASES = {"q": "quit", "exit": "quit", "h": "help", "?": "help"}

KEYS = (
    ("Enter", "run the input; an unfinished line gets a new line (Enter on a blank line runs anyway)"),
    ("Alt-Enter", "a new line without running (Esc then Enter also works), to add a `| step`"),
    ("|", "at an empty prompt: continue the last pipeline that ran"),
    ("Tab", "complete keywords, functions, tables, bindings and the columns in scope"),
    ("Up, Down", "walk the history (kept between sessions); Ctrl-R searches it"),
    ("Ctrl-C", "clear the input; stop a program that is running"),
    ("Ctrl-D", "leave (on an empty prompt)"),
)
