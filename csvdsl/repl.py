"""The interactive shell, ``csvdsl repl``: prompt_toolkit editing (highlighting, completion,
history, multi-line pipelines) over a Session, and a script runner when stdin is not a terminal."""

from __future__ import annotations

import functools
import re
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import networkx as nx
from prompt_toolkit import PromptSession
from prompt_toolkit.application import get_app
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition, completion_is_selected
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.lexers import Lexer
from prompt_toolkit.styles import Style
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from csvdsl import ast
from csvdsl.check import TableType, check
from csvdsl.cli import limits_from_args
from csvdsl.errors import DataError, DslError, ParseError, Span, did_you_mean, internal_error, name_hint, quote_name
from csvdsl.format import format_program
from csvdsl.grammar import build_parser, keywords
from csvdsl.parse import parse
from csvdsl.program import table_types
from csvdsl.render import MAX_CELL, dumps, json_cell, render_text, table_rows, text_scalar
from csvdsl.session import Session
from csvdsl.tables import Catalog, read_table, table_name_from_path
from planner.compile import Plan, compile_program
from planner.execute import Value
from planner.explain import explain_dot, explain_english, explain_text
from planner.functions import FUNCTIONS

DEFAULT_HISTORY = "~/.csvdsl_history"
PROMPT = "csvdsl> "
CONTINUATION = "   ...> "
UNCLIPPED = 10**9  # the shell bounds rows itself; the Session's character cap is for models


class CommandError(DslError):
    """A meta-command that cannot be carried out as typed."""

    phase = "command"


# ---------------------------------------------------------------- tokens, from the grammar

class Token(NamedTuple):
    kind: str  # comment, string, quoted, number, word, pipe, operator, space, other
    text: str
    start: int


_LEXICAL = (("COMMENT", "comment"), ("STRING", "string"), ("QUOTED", "quoted"), ("FLOAT", "number"),
            ("INT", "number"), ("NAME", "word"))
# A string or quoted name still being typed stays one token, so the rest of the line does not
# light up as keywords until the closing quote arrives.
_UNFINISHED = (("string", r"\"(?:[^\"\\\n]|\\.)*\\?|'(?:[^'\\\n]|\\.)*\\?"), ("quoted", r"`[^`\n]*"))


@functools.cache
def _token_pattern() -> tuple[re.Pattern, tuple[str, ...]]:
    """One regex over the grammar's own terminals: names, literals, comments and punctuation."""
    terminals = {t.name: t.pattern for t in build_parser().terminals}
    parts = [(kind, terminals[name].to_regexp()) for name, kind in _LEXICAL]
    parts[3:3] = _UNFINISHED  # after the finished forms, before numbers and names
    for name, pattern in terminals.items():
        regex = pattern.to_regexp()
        if name.startswith("_") or name in dict(_LEXICAL) or any(re.fullmatch(regex, w) for w in keywords()):
            continue  # newlines and ignored spaces, the lexical classes above, and keywords (read as names)
        parts.append(("pipe" if pattern.value == "|" else "operator", regex))
    parts += [("space", r"\s+"), ("other", r"(?s:.)")]
    combined = "|".join(f"(?P<t{i}>{regex})" for i, (_, regex) in enumerate(parts))
    return re.compile(combined), tuple(kind for kind, _ in parts)


def scan(text: str) -> list[Token]:
    """Split text into tokens the way the grammar's lexer would, tolerating unfinished input."""
    pattern, kinds = _token_pattern()
    tokens, position = [], 0
    while position < len(text):
        match = pattern.match(text, position)
        tokens.append(Token(kinds[int(match.lastgroup[1:])], match.group(), position))
        position = match.end()
    return tokens


def _word_style(token: Token, rest: str, names: frozenset[str]) -> str:
    if token.text in keywords():
        return "keyword"
    if token.text.lower() in FUNCTIONS and rest.lstrip().startswith("("):
        return "function"  # a call; the same word alone is a column
    return "table" if token.text in names else "name"


_TOKEN_STYLES: dict[str, Callable[[Token, str, frozenset], str]] = {
    "word": _word_style,
    "quoted": lambda t, rest, names: "table" if t.text.strip("`") in names else "name",
    "comment": lambda *_: "comment",
    "string": lambda *_: "string",
    "number": lambda *_: "number",
    "pipe": lambda *_: "pipe",
    "operator": lambda *_: "operator",
    "space": lambda *_: "",
    "other": lambda *_: "",
}


def highlight(line: str, names: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """prompt_toolkit fragments for one line of program text: ``("class:keyword", "filter")``."""
    fragments = []
    for token in scan(line):
        style = _TOKEN_STYLES[token.kind](token, line[token.start + len(token.text):], names)
        fragments.append((f"class:{style}" if style else "", token.text))
    return fragments


class DslLexer(Lexer):
    """Highlighting derived from the grammar's terminals and keywords and the function registry;
    ``names`` gives the tables and bindings to mark as such."""

    def __init__(self, names: Callable[[], frozenset[str]] = frozenset):
        self.names = names

    def lex_document(self, document: Document):
        lines = document.lines
        names = frozenset(self.names())
        command = bool(lines) and lines[0].lstrip().startswith(":")

        def line(number: int) -> list[tuple[str, str]]:
            if number >= len(lines):
                return []
            if command:
                head, space, rest = lines[number].partition(" ")
                return [("class:command", head), ("", space + rest)] if number == 0 else [("", lines[number])]
            return highlight(lines[number], names)

        return line


STYLE = Style.from_dict({
    "keyword": "bold ansiblue",
    "function": "ansicyan",
    "table": "bold",
    "string": "ansigreen",
    "number": "ansimagenta",
    "comment": "italic ansibrightblack",
    "pipe": "bold ansiyellow",
    "operator": "ansiyellow",
    "command": "bold ansimagenta",
    "prompt": "bold ansigreen",
    "continuation": "ansibrightblack",
})


# ---------------------------------------------------------------- when Enter runs


def is_incomplete(text: str) -> bool:
    """True when the program stops mid-statement: the parser ran out of input, not into a mistake."""
    body = text.rstrip()
    if not body or body.lstrip().startswith(":"):
        return False
    try:
        parse(body)
    except ParseError as error:
        lines = body.splitlines()
        return error.span is not None and (error.span.line, error.span.column) == (len(lines), len(lines[-1]) + 1)
    except DslError:
        return False
    return False


def enter_runs(document: Document) -> bool:
    """Enter runs a complete program, a meta-command, or anything once a blank line ends it."""
    if not document.text.strip() or document.text.lstrip().startswith(":"):
        return True
    on_blank_last_line = document.is_cursor_at_the_end and not document.current_line.strip()
    return on_blank_last_line or not is_incomplete(document.text)


# ---------------------------------------------------------------- completion


class Candidate(NamedTuple):
    text: str  # as inserted (backticked when it must be)
    meta: str  # what it is: a column's type, "table", "binding", "function", "keyword"


@functools.cache
def leading_keywords(rule: str) -> frozenset[str]:
    """The keywords that can start a ``rule`` of the grammar (``transform`` -> filter, select, ...)."""
    parser = build_parser()
    strings = {t.name: t.pattern.value for t in parser.terminals if t.pattern.type == "str"}
    words, seen, pending = set(), set(), [rule]
    while pending:
        origin = pending.pop()
        if origin in seen:
            continue
        seen.add(origin)
        for production in parser.rules:
            if production.origin.name != origin or not production.expansion:
                continue
            first = production.expansion[0]
            if not first.is_term:
                pending.append(first.name)
            elif strings.get(first.name) in keywords():
                words.add(strings[first.name])
    return frozenset(words)


def _expression_keywords() -> list[str]:
    # Whatever may appear inside an expression: all keywords but those that start statements,
    # transforms and join kinds, and `on`, which only joins use.
    excluded = leading_keywords("statement") | leading_keywords("transform") | leading_keywords("join_kind") | {"on"}
    return sorted(keywords() - excluded)


class _Scope:
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


def _meaningful(tokens: list[Token]) -> list[Token]:
    return [t for t in tokens if t.kind not in ("space", "comment")]


def partial_word(before: str) -> str:
    """The name being typed at the cursor (with its opening backtick), or ''."""
    tokens = scan(before.rsplit("\n", 1)[-1])
    if not tokens:
        return ""
    last = tokens[-1]
    if last.kind == "word" or last.kind == "quoted" and not (len(last.text) > 1 and last.text.endswith("`")):
        return last.text
    return ""


def _statement_start(before: str) -> int:
    """Where the statement under the cursor begins: its first line, above any `|` lines."""
    lines = before.split("\n")
    index = len(lines) - 1
    if lines[index].lstrip().startswith("|"):
        index -= 1
        while index > 0 and (not lines[index].strip() or lines[index].lstrip()[:1] in ("|", "#")):
            index -= 1
    return sum(len(line) + 1 for line in lines[:index])


def completions(before: str, session: Session) -> list[Candidate]:
    """What may be typed at the cursor, given the text before it: keywords, tables and bindings,
    functions, and the columns of the pipeline at that point (found by checking the text before
    the current step; if that fails, by dropping steps until it checks)."""
    start = _statement_start(before)
    scope = _Scope(session, before[:start])
    statement = before[start:]
    tokens = _meaningful(scan(statement))
    if tokens and tokens[-1].kind == "string":
        return []  # inside a string literal
    if partial_word(before) and tokens:
        tokens = tokens[:-1]
    if len(tokens) >= 2 and tokens[-1].text == "." and tokens[-2].kind in ("word", "quoted"):
        table = scope.names.get(tokens[-2].text.strip("`"))
        return _columns(table) if table else []
    pipes = [i for i, t in enumerate(tokens) if t.kind == "pipe"]
    if not pipes:
        return _head_candidates(tokens, scope)
    pipeline = statement[: tokens[pipes[-1]].start]
    segment = tokens[pipes[-1] + 1:]
    columns = _pipeline_columns(scope, pipeline, [statement[: tokens[i].start] for i in reversed(pipes[:-1])])
    if not segment:
        return [Candidate(w, "transform") for w in sorted(leading_keywords("transform"))]
    rule = _SEGMENT_RULES.get(segment[0].text, _expression_candidates)
    return rule(segment, columns, scope)


def _pipeline_columns(scope: _Scope, pipeline: str, shorter: list[str]) -> list[Candidate]:
    for text in [pipeline, *shorter]:
        table = scope.pipeline_type(text)
        if table is not None:
            return _columns(table)
    seen: dict[str, Candidate] = {}  # nothing checks: every column of every table
    for table in scope.tables.values():
        for candidate in _columns(table):
            seen.setdefault(candidate.text, candidate)
    return list(seen.values())


def _columns(table: TableType) -> list[Candidate]:
    return [Candidate(quote_name(name), kind) for name, kind in table.columns]


def _functions() -> list[Candidate]:
    return [Candidate(name, f"{f.kind} function") for name, f in sorted(FUNCTIONS.items())]


def _keywords(words) -> list[Candidate]:
    return [Candidate(w, "keyword") for w in words]


def _head_candidates(tokens: list[Token], scope: _Scope) -> list[Candidate]:
    words = [t.text for t in tokens]
    if not words:
        return scope.candidates() + _keywords(sorted(leading_keywords("statement")))
    if words[0] == "answer":
        return scope.candidates() + _functions() + _keywords(_expression_keywords())
    if words == ["describe"] or len(words) == 2 and words[1] == "=":
        return scope.candidates()
    return []


def _expression_candidates(segment: list[Token], columns: list[Candidate], scope: _Scope) -> list[Candidate]:
    text = " ".join(t.text for t in segment)
    # derive and select may use a name assigned earlier in the same step
    assigned = [Candidate(quote_name(n.strip("`")), "new") for n in re.findall(r"(`[^`]+`|[A-Za-z_]\w*) =(?!=)", text)]
    return columns + assigned + _functions() + _keywords(_expression_keywords()) + scope.candidates()


def _join_candidates(segment: list[Token], columns: list[Candidate], scope: _Scope) -> list[Candidate]:
    words = [t.text for t in segment[1:]]
    if "on" in words:
        right = words[words.index("on") - 1].strip("`")
        return columns + (_columns(scope.names[right]) if right in scope.names else [])
    if not words:
        return scope.candidates() + _keywords(sorted(leading_keywords("join_kind")))
    if words in (["inner"], ["left"]):
        return scope.candidates()
    return _keywords(["on"])


def _group_candidates(segment: list[Token], columns: list[Candidate], scope: _Scope) -> list[Candidate]:
    if "aggregate" in (t.text for t in segment):
        return _expression_candidates(segment, columns, scope)
    return columns + _keywords(["aggregate"])


_SEGMENT_RULES = {
    "join": _join_candidates,
    "group": _group_candidates,
    "take": lambda segment, columns, scope: [],
    "sort": lambda segment, columns, scope: columns + _keywords(["asc", "desc"]),
    "drop": lambda segment, columns, scope: columns,
    "distinct": lambda segment, columns, scope: columns,
    "rename": lambda segment, columns, scope: columns,
}


class DslCompleter(Completer):
    """Completes meta-commands and their arguments, and program text through ``completions``."""

    def __init__(self, shell: "Shell"):
        self.shell = shell
        self.paths = PathCompleter(expanduser=True)

    def get_completions(self, document, complete_event):
        before = document.text_before_cursor
        if before.lstrip().startswith(":") and "\n" not in before:
            yield from self._command_completions(document, complete_event)
            return
        try:
            candidates = completions(before, self.shell.session)
        except Exception:  # completion is a convenience: a bug in it must not end the shell
            return
        yield from _matching(candidates, partial_word(before))

    def _command_completions(self, document, complete_event):
        before = document.text_before_cursor.lstrip()
        head, space, rest = before.partition(" ")
        if not space:
            names = [Candidate(f":{name}", command.summary) for name, command in COMMANDS.items()]
            yield from _matching(names, head)
            return
        command = COMMANDS.get(_ALIASES.get(head[1:], head[1:]))
        kind = command.arguments if command else None
        if kind == "paths":
            yield from self.paths.get_completions(Document(rest.split(" ")[-1]), complete_event)
            return
        word = rest.split(" ")[-1]
        yield from _matching(_ARGUMENT_CANDIDATES.get(kind, lambda shell: [])(self.shell), word)


def _matching(candidates: list[Candidate], word: str):
    seen = set()
    for candidate in candidates:
        plain = candidate.text.strip("`").lower()
        if candidate.text in seen or not (candidate.text.lower().startswith(word.lower())
                                          or plain.startswith(word.strip("`").lower())):
            continue
        seen.add(candidate.text)
        yield Completion(candidate.text, start_position=-len(word), display_meta=candidate.meta)


# ---------------------------------------------------------------- output


def answer_label(value: Value) -> str:
    kind = f"list of {value.dtype}" if value.kind == "list" and value.dtype else value.kind
    return f"answer ({kind})"


def _duration(seconds: float) -> str:
    return f"time: {seconds * 1000:.1f} ms" if seconds < 1 else f"time: {seconds:.2f} s"


def _bounded_text(value: Value, rows: int) -> str:
    """A scalar or a list as text; a long list shows its first ``rows`` items and a count."""
    if value.kind != "list" or len(value.value) <= rows:
        return render_text(value, rows)
    shown = dumps([json_cell(v) for v in value.value[:rows]])
    return f"{shown[:-1]}, ... {len(value.value) - rows:,} more]"


class PlainOutput:
    """Script mode: plain text as ``csvdsl run`` prints it; errors on standard error."""

    def __init__(self, out=None, err=None):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._printed = False

    def _print(self, text: str) -> None:
        if self._printed:
            print(file=self.out)
        print(text, file=self.out, flush=True)
        self._printed = True

    def result(self, value: Value, label: str | None, rows: int) -> None:
        body = render_text(value, rows)
        if label is not None:
            body = f"{label}:\n{body}" if value.kind == "table" else f"{label}: {body}"
        self._print(body)

    def error(self, error: DslError) -> None:
        self.out.flush()
        print(error.render(), file=self.err, flush=True)

    def note(self, text: str) -> None:
        self._print(text)

    def block(self, text: str) -> None:
        self._print(text)

    def bound(self, names: list[str]) -> None:
        """A script's bindings pass silently, as in ``csvdsl run``."""


class RichOutput:
    """Interactive: results as rich tables, errors in colour with the caret, all on the terminal."""

    def __init__(self, console: Console):
        self.console = console

    def result(self, value: Value, label: str | None, rows: int) -> None:
        if label is not None:
            head = Text.assemble((label, "bold green"), ":")
            if value.kind != "table":
                self.console.print(head, " ", Text(_bounded_text(value, rows)), sep="", soft_wrap=True)
                self.console.print()
                return
            self.console.print(head)
        if value.kind == "table":
            self._table(value, rows)
        else:
            self.console.print(Text(_bounded_text(value, rows)), soft_wrap=True)
        self.console.print()

    def _table(self, value: Value, rows: int) -> None:
        frame = value.value
        types = dict(value.table.columns) if value.table else {}
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
        for name in frame.columns:
            kind = types.get(name, "")
            table.add_column(Text.assemble((str(name), "bold"), "\n", (kind, "dim")), no_wrap=True,
                             justify="right" if kind in ("int", "float") else "left",
                             max_width=MAX_CELL, overflow="ellipsis")
        shown = table_rows(value, rows)
        for row in shown:
            table.add_row(*(Text("null", style="dim") if cell is None else Text(text_scalar(cell)) for cell in row))
        self.console.print(table)
        total, columns = len(frame), len(frame.columns)
        if total > len(shown):
            self.console.print(Text(f"... {total - len(shown):,} more rows", style="dim"))
        self.console.print(Text(f"({total:,} row{'s' if total != 1 else ''}, {columns} column{'s' if columns != 1 else ''})",
                                style="dim"))

    def error(self, error: DslError) -> None:
        lines = error.render().splitlines()
        for index, line in enumerate(lines):
            style = "bold red" if index == 0 else "yellow" if line.startswith("hint: ") else \
                "bold red" if line.strip() and set(line.strip()) == {"^"} else ""
            # soft_wrap: rich must not re-wrap the source line, or the caret would stop lining up
            self.console.print(Text(line, style=style), soft_wrap=True)
        self.console.print()

    def note(self, text: str) -> None:
        self.console.print(Text(text, style="dim"), soft_wrap=True)

    def block(self, text: str) -> None:
        self.console.print(Text(text), soft_wrap=True)
        self.console.print()

    def bound(self, names: list[str]) -> None:
        self.note(f"ok: bound {', '.join(names)}")


# ---------------------------------------------------------------- the shell


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
            self.output.note(_duration(elapsed))
        return observation.ok

    def _show_error(self, error: DslError, text: str) -> None:
        if error.file is None:
            error.file = self.file
        word = text.strip()
        if error.code == "unknown-table" and word in COMMANDS | _ALIASES:
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
                raise CommandError("command-usage", f"`{words[0].text}` takes {_how_many(low, high)}", span=where,
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
        name = _ALIASES.get(name, name)
        if name in COMMANDS:
            return COMMANDS[name]
        listed = ", ".join(f":{n}" for n in COMMANDS)
        if not name:
            raise CommandError("command-missing", "a colon starts a meta-command, but none is named", span=word.span,
                               hint=f"commands: {listed}")
        best = did_you_mean(name, list(COMMANDS) + list(_ALIASES))
        hint = (f"did you mean `:{_ALIASES.get(best, best)}`? " if best else "") + f"commands: {listed}"
        raise CommandError("unknown-command", f"there is no meta-command `{word.text}`", span=word.span, hint=hint)


def _how_many(low: int, high: int) -> str:
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
    scope = _Scope(shell.session, "")
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
_ALIASES = {"q": "quit", "exit": "quit", "h": "help", "?": "help"}

_ARGUMENT_CANDIDATES: dict[str, Callable[[Shell], list[Candidate]]] = {
    "commands": lambda shell: [Candidate(name, c.summary) for name, c in COMMANDS.items()],
    "names": lambda shell: _Scope(shell.session, "").candidates(),
    "bindings": lambda shell: [Candidate(quote_name(n), "binding") for n in dict.fromkeys(b.name for b in shell.session.bindings)],
    "switch": lambda shell: [Candidate("on", "timing"), Candidate("off", "timing")],
}

KEYS = (
    ("Enter", "run the input; an unfinished line gets a new line (Enter on a blank line runs anyway)"),
    ("Alt-Enter", "a new line without running (Esc then Enter also works), to add a `| step`"),
    ("|", "at an empty prompt: continue the last pipeline that ran"),
    ("Tab", "complete keywords, functions, tables, bindings and the columns in scope"),
    ("Up, Down", "walk the history (kept between sessions); Ctrl-R searches it"),
    ("Ctrl-C", "clear the input; stop a program that is running"),
    ("Ctrl-D", "leave (on an empty prompt)"),
)


# ---------------------------------------------------------------- interactive and script modes


def key_bindings(shell: Shell) -> KeyBindings:
    """Enter runs or continues; Alt-Enter adds a line; `|` on an empty prompt continues a pipeline."""
    bindings = KeyBindings()

    @bindings.add("enter")
    def _enter(event):
        buffer = event.current_buffer
        if enter_runs(buffer.document):
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    @bindings.add("enter", filter=completion_is_selected)
    def _accept_completion(event):
        event.current_buffer.complete_state = None

    @bindings.add("escape", "enter")
    def _newline(event):
        event.current_buffer.insert_text("\n")

    @bindings.add("|", filter=Condition(lambda: not get_app().current_buffer.text and shell.last_pipeline is not None))
    def _continue(event):
        last_line = shell.last_pipeline.rsplit("\n", 1)[-1]
        indent = last_line[: len(last_line) - len(last_line.lstrip())] if last_line.lstrip().startswith("|") else "  "
        event.current_buffer.text = f"{shell.last_pipeline}\n{indent}| "
        event.current_buffer.cursor_position = len(event.current_buffer.text)

    return bindings


class Repl:
    """The interactive loop: a prompt_toolkit PromptSession feeding a Shell."""

    def __init__(self, shell: Shell, history: History, input=None, output=None):
        self.shell = shell
        self.prompt = PromptSession(
            message=[("class:prompt", PROMPT)],
            prompt_continuation=lambda width, line, wrap: [("class:continuation", CONTINUATION.rjust(width))],
            multiline=True,
            lexer=DslLexer(shell.names),
            completer=DslCompleter(shell),
            complete_while_typing=False,
            auto_suggest=AutoSuggestFromHistory(),
            history=history,
            key_bindings=key_bindings(shell),
            style=STYLE,
            include_default_pygments_style=False,
            input=input,
            output=output,
        )

    def read(self) -> str | None:
        """One input; '' after Ctrl-C, None at end of input (Ctrl-D)."""
        try:
            return self.prompt.prompt()
        except KeyboardInterrupt:
            return ""
        except EOFError:
            return None

    def loop(self) -> int:
        while not self.shell.done:
            text = self.read()
            if text is None:
                break
            try:
                self.shell.submit(text)
            except KeyboardInterrupt:
                self.shell.output.note("interrupted")
        return 0


def split_statements(text: str) -> list[tuple[int, str]]:
    """A script's inputs with their first line numbers: each statement with the `|` lines that
    continue it and the comments above it, and each meta-command line on its own."""
    chunks: list[tuple[int, list[str]]] = []
    pending: list[str] = []  # blank and comment lines: they go with what follows
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            pending.append(line)
        elif stripped.startswith(":"):
            chunks.append((number, [line]))
            pending = []
        elif stripped.startswith("|") and chunks and not chunks[-1][1][-1].lstrip().startswith(":"):
            chunks[-1][1].extend(pending + [line])
            pending = []
        else:
            chunks.append((number - len(pending), pending + [line]))
            pending = []
    return [(start, "\n".join(lines)) for start, lines in chunks]


def run_script(shell: Shell, text: str) -> int:
    """Run a script statement by statement (each error reported, the rest still run); 1 if any failed."""
    failed = False
    for start, chunk in split_statements(text):
        # Leading newlines keep error positions at the script's own line numbers.
        failed |= not shell.submit("\n" * (start - 1) + chunk)
        if shell.done:
            break
    return 1 if failed else 0


def banner(shell: Shell) -> str:
    """The greeting: what is loaded and how to get help."""
    tables = ", ".join(f"{name} ({len(shell.catalog[name].frame):,} rows)" for name in shell.catalog.names())
    loaded = f"tables: {tables}" if tables else "no tables loaded yet (:load PATH)"
    return f"csvdsl repl - {loaded}. :help for help, Ctrl-D to leave."


def run_repl(args) -> int:
    """``csvdsl repl``: the shell on a terminal, a script runner otherwise; returns the exit status."""
    try:
        catalog = Catalog.from_specs(args.tables)
    except DslError as error:
        print(error.render(), file=sys.stderr)
        return 1
    session = Session(catalog, limits=limits_from_args(args), max_rows=args.rows, max_chars=UNCLIPPED)
    if not sys.stdin.isatty():
        shell = Shell(session, PlainOutput(), args.rows, file="<stdin>")
        try:
            text = sys.stdin.read()
        except UnicodeDecodeError as error:
            print(DataError("script-encoding", f"the script is not UTF-8 text: {error.reason}",
                            hint="save the script as UTF-8").render(), file=sys.stderr)
            return 1
        return run_script(shell, text)
    shell = Shell(session, RichOutput(Console(highlight=False)), args.rows)
    shell.output.note(banner(shell))
    return Repl(shell, _history(shell, args.history or DEFAULT_HISTORY)).loop()


def _history(shell: Shell, file: str) -> History:
    path = Path(file).expanduser()
    try:
        path.open("a", encoding="utf-8").close()  # fail now, not on the first Enter
    except OSError as error:
        shell.output.note(f"history is not kept: cannot write {path} ({error.strerror or error})")
        return InMemoryHistory()
    return FileHistory(str(path))
