"""The interactive loop and the script runner: when Enter runs, key bindings, ``csvdsl repl``."""

from __future__ import annotations

import sys
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.application import get_app
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition, completion_is_selected
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings
from rich.console import Console

from csvdsl.errors import DataError, DslError, ParseError
from csvdsl.limits import limits_from_args
from csvdsl.parse import parse
from csvdsl.repl.complete import DslCompleter
from csvdsl.repl.highlight import STYLE, DslLexer
from csvdsl.repl.output import PlainOutput, RichOutput
from csvdsl.repl.shell import Shell
from csvdsl.session import Session
from csvdsl.tables import Catalog

DEFAULT_HISTORY = "~/.csvdsl_history"
PROMPT = "csvdsl> "
CONTINUATION = "   ...> "
UNCLIPPED = 10**9  # the shell bounds rows itself; the Session's character cap is for models


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
