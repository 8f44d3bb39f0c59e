"""The shell: the prompt_toolkit application driven through a pipe (keys in, inputs and the
screen out), its lexer and completer, each meta-command, script mode as a subprocess, and one
session in a real terminal under tmux."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from conftest import CSVDSL, csvdsl
from csvdsl.grammar import keywords
from csvdsl.repl import (COMMANDS, KEYS, DslCompleter, DslLexer, Repl, RichOutput, Shell, banner, highlight,
                         split_statements)
from csvdsl.session import Session
from csvdsl.tables import Catalog
from planner.functions import FUNCTIONS

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "examples" / "data"
SPECS = [f"{name}={DATA / name}.csv" for name in ("flights", "airlines")]
ALT_ENTER = "\x1b\r"  # what a terminal sends for Alt-Enter (or Esc, Enter)
ANSI = re.compile(r"\x1b\[")


def make_shell(rows: int = 5, tables=None) -> tuple[Shell, io.StringIO]:
    """A shell over flights and airlines whose rich output goes to a string."""
    screen = io.StringIO()
    console = Console(file=screen, width=200, color_system=None, highlight=False)
    session = Session(tables if tables is not None else Catalog.from_specs(SPECS))
    return Shell(session, RichOutput(console), rows=rows), screen


def type_into(shell: Shell, keys: str, history=None) -> list[str]:
    """Type ``keys`` into the application as a terminal would; run each input it accepts.
    The pipe is closed after the keys, so an input left unfinished ends the loop (no hang)."""
    inputs = []
    with create_pipe_input() as pipe:
        repl = Repl(shell, history or InMemoryHistory(), input=pipe, output=DummyOutput())
        pipe.send_text(keys)
        pipe.close()
        while not shell.done:
            text = repl.read()
            if text is None:
                break
            inputs.append(text)
            shell.submit(text)
    return inputs


def complete(shell: Shell, text: str) -> list[str]:
    return [c.text for c in DslCompleter(shell).get_completions(Document(text), CompleteEvent(completion_requested=True))]


# ---------------------------------------------------------------- Enter, Alt-Enter, `|`


def test_enter_runs_a_complete_program_at_once():
    shell, screen = make_shell()
    assert type_into(shell, "flights | take 1\r") == ["flights | take 1"]
    assert "(1 row, 19 columns)" in screen.getvalue()


def test_enter_on_an_unfinished_program_starts_a_new_line():
    shell, screen = make_shell()
    # `flights | filter` ends too early, so the first Enter adds a line instead of running.
    assert type_into(shell, "flights | filter\rdep_delay > 60\r") == ["flights | filter\ndep_delay > 60"]
    assert "a statement continues on the next line when that line starts with `|`" in screen.getvalue()


def test_enter_on_a_blank_line_runs_an_unfinished_program_anyway():
    shell, screen = make_shell()
    assert type_into(shell, "flights | filter\r\r") == ["flights | filter\n"]
    out = screen.getvalue()
    assert "the program ends too early" in out
    assert "1 | flights | filter\n                    ^" in out


def test_alt_enter_adds_a_pipeline_line_without_running():
    shell, screen = make_shell()
    keys = f"flights{ALT_ENTER}  | filter dep_delay > 60{ALT_ENTER}  | take 2\r"
    assert type_into(shell, keys) == ["flights\n  | filter dep_delay > 60\n  | take 2"]
    assert "(2 rows, 19 columns)" in screen.getvalue()


def test_pipe_at_an_empty_prompt_continues_the_last_pipeline():
    shell, screen = make_shell()
    inputs = type_into(shell, "late = flights | filter dep_delay > 60\r|take 2\rlate | aggregate n = count()\r")
    assert inputs[1] == "late = flights | filter dep_delay > 60\n  | take 2"
    assert re.search(r"\n\s*2\n", screen.getvalue())  # late was rebound to its first two rows


def test_pipe_with_nothing_to_continue_is_typed_as_is():
    shell, screen = make_shell()
    assert type_into(shell, "| take 2\r") == ["| take 2"]
    assert "syntax error" in screen.getvalue()


def test_an_error_shows_caret_and_hint_and_the_session_goes_on():
    shell, screen = make_shell()
    type_into(shell, f"flights{ALT_ENTER}  | filter dep_dalay > 60\rflights | filter dep_delay > 60 | take 1\r")
    out = screen.getvalue()
    assert "2 |   | filter dep_dalay > 60\n               ^^^^^^^^^" in out
    assert "did you mean `dep_delay`?" in out
    assert out.index("did you mean") < out.index("(1 row, 19 columns)")


def test_results_are_bounded_and_answers_typed():
    shell, screen = make_shell(rows=5)
    type_into(shell, "flights\ranswer 1 + 1\ranswer airlines.carrier\r")
    out = screen.getvalue()
    assert "... 2,995 more rows" in out
    assert "(3,000 rows, 19 columns)" in out
    assert "answer (number): 2" in out
    assert 'answer (list of string): ["9E", "AA",' in out


def test_history_is_kept_in_a_file(tmp_path):
    shell, _ = make_shell()
    type_into(shell, f"flights{ALT_ENTER}  | take 1\r", history=FileHistory(str(tmp_path / "history")))
    assert "+flights\n+  | take 1" in (tmp_path / "history").read_text()
    later, _ = make_shell()  # a new session finds it: Up recalls the multi-line input
    assert type_into(later, "\x1b[A\r", history=FileHistory(str(tmp_path / "history"))) == ["flights\n  | take 1"]


# ---------------------------------------------------------------- highlighting


def test_lexer_token_classes():
    line = 'late = flights | filter mean(dep_delay) > 6.5 and carrier == "AA" # why'
    fragments = [(style, text) for style, text in highlight(line, frozenset({"flights"})) if text.strip()]
    assert fragments == [
        ("class:name", "late"), ("class:operator", "="), ("class:table", "flights"), ("class:pipe", "|"),
        ("class:keyword", "filter"), ("class:function", "mean"), ("class:operator", "("), ("class:name", "dep_delay"),
        ("class:operator", ")"), ("class:operator", ">"), ("class:number", "6.5"), ("class:keyword", "and"),
        ("class:name", "carrier"), ("class:operator", "=="), ("class:string", '"AA"'), ("class:comment", "# why"),
    ]


def test_lexer_follows_the_grammar_and_the_function_registry():
    # Derived, not a hand list: every keyword the grammar reserves, every registered function.
    for word in keywords():
        assert highlight(word) == [("class:keyword", word)], word
    for name in FUNCTIONS:
        assert highlight(f"{name}(x)")[0] == ("class:function", name), name
        assert highlight(name) == [("class:name", name)], name  # without a call it is a column


def test_lexer_tolerates_unfinished_input_and_marks_meta_commands():
    assert highlight('filter x == "unfinished and or') == [
        ("class:keyword", "filter"), ("", " "), ("class:name", "x"), ("", " "), ("class:operator", "=="), ("", " "),
        ("class:string", '"unfinished and or')]
    lines = DslLexer(lambda: frozenset({"flights"})).lex_document(Document("flights\n  | take 3"))
    assert lines(0) == [("class:table", "flights")]
    assert ("class:pipe", "|") in lines(1) and ("class:number", "3") in lines(1)
    assert DslLexer().lex_document(Document(":plan late"))(0)[0] == ("class:command", ":plan")


# ---------------------------------------------------------------- completion


def test_completes_the_columns_in_scope_at_the_cursor():
    shell, _ = make_shell()
    assert complete(shell, "flights | filter dep_") == ["dep_time", "dep_delay"]
    grouped = complete(shell, "flights | group carrier aggregate n = count() | filter ")
    assert grouped[:2] == ["carrier", "n"] and "dep_delay" not in grouped
    assert complete(shell, "flights | derive late = dep_delay > 60 | select lat") == ["late"]
    assert complete(shell, "flights | derive gain = dep_delay - arr_delay, per_hour = ga") == ["gain"]


def test_completion_sees_session_bindings_and_earlier_statements_of_the_input():
    shell, _ = make_shell()
    shell.submit("x = flights | select carrier, origin")
    assert complete(shell, "x | filter ")[:2] == ["carrier", "origin"]
    assert "dep_delay" not in complete(shell, "x | filter ")
    assert complete(shell, "answer x.") == ["carrier", "origin"]
    assert complete(shell, "by = flights | group origin aggregate n = count()\nby\n  | sort ") == ["origin", "n", "asc", "desc"]


def test_completion_falls_back_to_the_steps_that_check():
    shell, _ = make_shell()
    # The misspelt step is skipped: the columns are those before it.
    assert complete(shell, "flights | filter dep_dalay > 1 | select arr_") == ["arr_time", "arr_delay"]
    # An unknown source: every table's columns.
    assert "carrier" in complete(shell, "fligts | filter carr")


def test_completes_keywords_tables_functions_and_joins():
    shell, _ = make_shell()
    assert complete(shell, "flights | ") == ["aggregate", "derive", "distinct", "drop", "filter", "group", "join",
                                             "rename", "select", "sort", "split", "take"]
    assert complete(shell, "fl") == ["flights"]
    assert {"flights", "airlines", "answer", "describe", "tables"} <= set(complete(shell, ""))
    assert complete(shell, "flights | join air") == ["airlines"]
    assert {"inner", "left"} <= set(complete(shell, "flights | join "))
    assert complete(shell, "flights | join airlines on car") == ["carrier"]
    assert complete(shell, "flights | join airlines ") == ["on"]
    completions = list(DslCompleter(shell).get_completions(Document("flights | aggregate m = me"), CompleteEvent()))
    assert [(c.text, c.display_meta_text) for c in completions] == [
        ("mean", "aggregate function"), ("median", "aggregate function")]
    assert complete(shell, 'flights | filter carrier == "A') == []


def test_completion_quotes_names_that_need_backticks():
    shell, _ = make_shell(tables={"t": pd.DataFrame({"dep delay": [1], "ok": [2]})})
    completions = list(DslCompleter(shell).get_completions(Document("t | filter `dep"), CompleteEvent()))
    assert [(c.text, c.start_position) for c in completions] == [("`dep delay`", -4)]


def test_completes_meta_commands_and_their_arguments():
    shell, _ = make_shell()
    shell.submit("late = flights | filter dep_delay > 60")
    assert complete(shell, ":de") == [":describe"]
    assert complete(shell, ":describe fl") == ["flights"]
    assert complete(shell, ":plan ") == ["late"]
    assert complete(shell, ":timing o") == ["on", "off"]
    assert complete(shell, ":help ti") == ["timing"]


def test_tab_completes_in_the_running_application():
    shell, _ = make_shell()

    async def drive():
        with create_pipe_input() as pipe:
            repl = Repl(shell, InMemoryHistory(), input=pipe, output=DummyOutput())
            reading = asyncio.ensure_future(repl.prompt.prompt_async())
            pipe.send_text("flights | filter arr_del\t")
            # Completion runs in the background: wait for it before typing on.
            deadline = time.monotonic() + 10
            while not repl.prompt.default_buffer.text.endswith("arr_delay"):
                assert time.monotonic() < deadline, repl.prompt.default_buffer.text
                await asyncio.sleep(0.01)
            pipe.send_text(" > 60\r")
            return await reading

    assert asyncio.run(drive()) == "flights | filter arr_delay > 60"


# ---------------------------------------------------------------- meta-commands


def test_help_lists_every_command_and_key():
    shell, screen = make_shell()
    type_into(shell, ":help\r:help plan\r")
    out = screen.getvalue()
    for command in COMMANDS.values():
        assert command.usage in out
    for key, _ in KEYS:
        assert f"  {key}" in out
    assert out.rstrip().endswith(":plan [NAME]\n  " + COMMANDS["plan"].summary)


def test_tables_lists_tables_and_bindings():
    shell, screen = make_shell()
    type_into(shell, "late = flights | filter dep_delay > 60 | select carrier, dep_delay\r:tables\r")
    out = screen.getvalue()
    assert re.search(r"flights\s+3000\s+19", out) and re.search(r"airlines\s+16\s+2", out)
    assert "late: carrier, dep_delay" in out


def test_describe_shows_every_column_and_suggests_names():
    shell, screen = make_shell(rows=3)
    type_into(shell, ":describe flights\r:describe fligts\r:describe\r")
    out = screen.getvalue()
    assert "time_hour" in out and "more rows" not in out  # all 19 columns, though rows=3
    assert ":describe fligts\n              ^^^^^^" in out
    assert "did you mean `flights`?" in out
    assert "`:describe` takes 1 argument" in out and "usage: :describe NAME" in out


def test_plan_numbers_the_bindings_of_the_session_or_of_one():
    shell, screen = make_shell()
    type_into(shell, "late = flights | filter dep_delay > 60\ranswer late.carrier\r:plan\r:plan late\r:plan lat\r")
    out = screen.getvalue()
    assert "r0 := Source[flights]\nr1 := Filter[r0] dep_delay > 60  # late\nr2 := Answer[r1] r1.carrier" in out
    assert out.count("r1 := Filter[r0] dep_delay > 60  # late") == 2
    assert "did you mean `late`?" in out


def test_plan_of_an_empty_session_says_what_to_do():
    shell, screen = make_shell()
    type_into(shell, ":plan\r")
    assert "command error [nothing-to-plan]" in screen.getvalue()
    assert "hint: bind a result first" in screen.getvalue()


def test_dot_writes_the_plan_to_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shell, screen = make_shell()
    type_into(shell, f"late = flights | filter dep_delay > 60\r:dot late {tmp_path / 'late.gv'}\r:dot\r")
    named = (tmp_path / "late.gv").read_text()
    assert named.startswith("digraph plan {") and "Filter" in named
    assert (tmp_path / "plan.dot").read_text().startswith("digraph plan {")
    assert "wrote plan.dot (2 nodes)" in screen.getvalue()


def test_explain_gives_english_steps():
    shell, screen = make_shell()
    type_into(shell, "late = flights | filter dep_delay > 60\r:explain late\r")
    assert "1. Start from the flights table.\n2. Keep the flights whose departure delay is above 60." in screen.getvalue()


def test_load_adds_a_table_and_reports_bad_files(tmp_path):
    shell, screen = make_shell()
    type_into(shell, f":load {DATA / 'penguins.csv'} as pg\rpg | aggregate n = count()\r"
                     f":load {tmp_path / 'missing.csv'}\r:load x.csv to y\r:load {DATA / 'penguins.csv'}\r")
    out = screen.getvalue()
    assert "loaded pg: 344 rows, 8 columns" in out
    assert re.search(r"\n\s*344\n", out)
    assert "data error [csv-not-found]" in out
    assert "expected `as NAME` after the path" in out
    assert "loaded penguins: 344 rows" in out  # named by its file stem
    assert "pg" in shell.names() and "penguins" in shell.names()


def test_save_writes_a_program_that_csvdsl_run_runs(tmp_path):
    shell, screen = make_shell()
    saved = tmp_path / "session.dsl"
    type_into(shell, f"by_carrier = flights{ALT_ENTER}  | group carrier aggregate n = count()\r"
                     f"top = by_carrier | sort n desc | take 3\ranswer top.carrier\r:save {saved}\r")
    assert f"wrote {saved} (3 statements)" in screen.getvalue()
    text = saved.read_text()
    assert "answer top.carrier" in text
    # The header says how to run it; run exactly that.
    header = next(line for line in text.splitlines() if "csvdsl run" in line)
    command = shlex.split(header.lstrip("# "))
    done = csvdsl(*command[1:], "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"type": "list", "value": shell.session.answer.value}


def test_timing_switches_on_and_off():
    shell, screen = make_shell()
    type_into(shell, ":timing on\rflights | take 1\r:timing off\rairlines | take 1\r:timing\r:timing maybe\r")
    out = screen.getvalue()
    assert len(re.findall(r"^time: [0-9.]+ m?s$", out, re.M)) == 1
    assert "timing is on" in out and out.count("timing is off") == 2
    assert "`maybe` is not on or off" in out


def test_reset_forgets_bindings_but_keeps_tables():
    shell, screen = make_shell()
    type_into(shell, "late = flights | filter dep_delay > 60\r:reset\rlate | take 1\rairlines | take 1\r")
    out = screen.getvalue()
    assert "no table or binding named `late`" in out
    assert "(1 row, 2 columns)" in out
    assert shell.session.bindings == []


def test_quit_ends_the_loop():
    shell, _ = make_shell()
    assert type_into(shell, ":quit\rflights\r") == [":quit"]


def test_unknown_meta_commands_get_a_suggestion():
    shell, screen = make_shell()
    type_into(shell, ":tabels\rquit\r")
    out = screen.getvalue()
    assert ":tabels\n    ^^^^^^^" in out
    assert "hint: did you mean `:tables`? commands: :help," in out
    assert "hint: meta-commands start with a colon: `:quit`" in out


# ---------------------------------------------------------------- script mode


def test_script_statements_keep_their_comments_and_continuations():
    script = "# first\nx = flights\n\n  | take 1\n:plan x\n| take 2\ny = x\n"
    assert split_statements(script) == [(1, "# first\nx = flights\n\n  | take 1"), (5, ":plan x"), (6, "| take 2"),
                                        (7, "y = x")]


def test_script_mode_runs_each_statement_and_reports_errors_at_script_lines():
    script = ("# delays\nlate = flights\n  | filter dep_dalay > 60\n"
              "airlines | take 2\n:explain nope\nanswer 40 + 2\n")
    done = csvdsl("repl", DATA / "flights.csv", DATA / "airlines.csv", stdin=script)
    assert done.returncode == 1
    assert "<stdin>:3:12: check error [unknown-column]" in done.stderr
    assert "3 |   | filter dep_dalay > 60\n               ^^^^^^^^^" in done.stderr
    assert "did you mean `dep_delay`?" in done.stderr
    assert "<stdin>:5:" in done.stderr
    assert "(2 rows, 2 columns)" in done.stdout and done.stdout.rstrip().endswith("answer (number): 42")
    assert not ANSI.search(done.stdout + done.stderr) and "Traceback" not in done.stderr


def test_script_mode_prints_what_csvdsl_run_prints():
    program = "flights | group origin aggregate n = count() | sort origin"
    script = csvdsl("repl", DATA / "flights.csv", "--rows", "2", stdin=program + "\n")
    run = csvdsl("run", "-e", program, "--csv", DATA / "flights.csv", "--rows", "2")
    assert script.returncode == 0 and script.stderr == ""
    assert script.stdout == run.stdout


def test_a_table_that_cannot_be_read_exits_1_with_the_error():
    done = csvdsl("repl", DATA / "nope.csv", stdin="")
    assert done.returncode == 1
    assert "data error [csv-not-found]" in done.stderr and "Traceback" not in done.stderr


# ---------------------------------------------------------------- the documentation


DOC = ROOT / "docs" / "repl.md"


def _shell_examples() -> list[tuple[dict[str, str], str, str]]:
    """The doc's shell sessions: files shown with `$ cat F`, then a command and its output."""
    blocks = re.findall(r"^```text\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)
    examples = []
    for block in blocks:
        if not block.startswith("$ cat "):
            continue
        files, parts = {}, re.split(r"^\$ ", block, flags=re.M)[1:]
        for part in parts[:-1]:
            head, _, body = part.partition("\n")
            files[head.removeprefix("cat ")] = body
        command, _, output = parts[-1].partition("\n")
        examples.append((files, command, output))
    return examples


def _transcripts() -> list[str]:
    """The doc's interactive sessions: blocks that start with `$ csvdsl repl` and read no file."""
    blocks = re.findall(r"^```text\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)
    return [block for block in blocks if block.startswith("$ csvdsl repl") and "<" not in block.split("\n")[0]]


def replay(transcript: str) -> tuple[str, str]:
    """What the shell shows for the transcript's inputs, and the transcript without its command line."""
    command, _, expected = transcript.partition("\n")
    words = shlex.split(command)[3:]
    rows = int(words[words.index("--rows") + 1]) if "--rows" in words else 20
    tables = [w for i, w in enumerate(words) if not w.startswith("--") and (i == 0 or words[i - 1] != "--rows")]
    screen = io.StringIO()
    shell = Shell(Session(Catalog.from_specs([str(ROOT / t) for t in tables])),
                  RichOutput(Console(file=screen, width=160, color_system=None, highlight=False)), rows=rows)
    shell.output.note(banner(shell))
    inputs = re.findall(r"^csvdsl> .*(?:\n   \.\.\.> .*)*", expected, re.M)
    for text in inputs:
        screen.write(text + "\n")
        shell.submit(re.sub(r"^(csvdsl|   \.\.\.)> ", "", text, flags=re.M))
    return screen.getvalue(), expected


@pytest.mark.parametrize("transcript", range(2))
def test_the_doc_sessions_show_what_the_shell_shows(transcript, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # :save writes here
    actual, expected = replay(_transcripts()[transcript])

    def lines(text):
        return [line.rstrip() for line in text.rstrip().splitlines()]

    assert lines(actual) == lines(expected)


def test_the_doc_names_every_meta_command_and_key():
    text = DOC.read_text(encoding="utf-8")
    for command in COMMANDS.values():
        assert command.usage in text
    for key, _ in KEYS:
        assert key in text


@pytest.mark.parametrize("example", range(2))
def test_the_doc_script_examples_print_what_they_show(example, tmp_path):
    files, command, expected = _shell_examples()[example]
    for name, body in files.items():
        (tmp_path / name).write_text(body)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = {**os.environ, "PATH": f"{Path(CSVDSL[0]).parent}{os.pathsep}{os.environ['PATH']}"}
    # One pipe for both streams, as on a terminal: errors appear where they happen.
    done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.stdout.rstrip() == expected.rstrip()


# ---------------------------------------------------------------- a real terminal


class Terminal:
    """A tmux session on a private server: type into it and read its screen."""

    def __init__(self, tmux: str, socket: Path):
        self.tmux, self.socket = tmux, socket

    def __call__(self, *args) -> str:
        return subprocess.run([self.tmux, "-S", str(self.socket), *args], capture_output=True, text=True,
                              timeout=30, check=True).stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-J", "-t", "repl")

    def wait_for(self, text: str, timeout: float = 30) -> str:
        """The screen once ``text`` is on it (polled; the timeout only stops a hung test)."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} never appeared; the screen:\n{screen}")
            time.sleep(0.05)

    def type(self, *lines: str) -> None:
        """Each line but the last ends with Alt-Enter (a new line); the last with Enter (run)."""
        for index, line in enumerate(lines):
            self("send-keys", "-t", "repl", "-l", line)
            self("send-keys", "-t", "repl", "M-Enter" if index < len(lines) - 1 else "Enter")


def test_a_session_in_a_real_terminal(tmp_path):
    tmux = shutil.which("tmux") or ("/usr/bin/tmux" if Path("/usr/bin/tmux").exists() else None)
    if tmux is None:
        pytest.skip("tmux is not installed")
    # A private server; its socket path must stay short (sockets are limited to ~100 bytes).
    socket = Path(tempfile.mkdtemp(prefix="csvdsl-")) / "tmux"
    terminal = Terminal(tmux, socket)
    command = shlex.join([*CSVDSL, "repl", *SPECS, "--history", str(tmp_path / "history")])
    terminal("new-session", "-d", "-s", "repl", "-x", "160", "-y", "50", "-c", str(ROOT), command)
    try:
        terminal.wait_for("csvdsl> ")
        terminal.type("flights", "  | filter dep_dalay > 60", "  | select carrier, dep_delay", "  | take 3")
        screen = terminal.wait_for("hint:")
        lines = screen.splitlines()
        source = [i for i, line in enumerate(lines) if line.startswith("2 |   | filter dep_dalay")]
        assert source, f"no source line in the error; the screen:\n{screen}"
        source = source[0]
        assert lines[source + 1].index("^^^^^^^^^") == lines[source].index("dep_dalay")  # the caret lines up
        assert "did you mean `dep_delay`?" in screen
        terminal.type("flights", "  | filter dep_delay > 60", "  | select carrier, dep_delay", "  | take 3")
        screen = terminal.wait_for("(3 rows, 2 columns)")
        table = screen[screen.rindex("  | take 3"):]
        assert re.search(r"carrier\s+dep_delay", table) and re.search(r"EV\s+67", table)
        terminal("send-keys", "-t", "repl", "-l", ":quit")
        terminal("send-keys", "-t", "repl", "Enter")
    finally:
        subprocess.run([tmux, "-S", str(socket), "kill-server"], capture_output=True, timeout=30)
        shutil.rmtree(socket.parent, ignore_errors=True)
