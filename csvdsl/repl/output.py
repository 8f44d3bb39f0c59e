"""What the shell prints: results, errors and notes, plain in a pipe and with Rich on a terminal."""

from __future__ import annotations

import sys

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from csvdsl.errors import DslError
from csvdsl.render import MAX_CELL, dumps, json_cell, render_text, table_rows, terminal_safe, text_scalar
from planner.execute import Value


def answer_label(value: Value) -> str:
    kind = f"list of {value.dtype}" if value.kind == "list" and value.dtype else value.kind
    return f"answer ({kind})"


def duration(seconds: float) -> str:
    return f"time: {seconds * 1000:.1f} ms" if seconds < 1 else f"time: {seconds:.2f} s"


def _bounded_text(value: Value, rows: int) -> str:
    """A scalar or a list as text; a long list shows its first ``rows`` items and a count."""
    if value.kind != "list" or len(value.value) <= rows:
        return render_text(value, rows)
    shown = terminal_safe(dumps([json_cell(v) for v in value.value[:rows]]))
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
        print(terminal_safe(error.render()), file=self.err, flush=True)

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
            table.add_column(Text.assemble((terminal_safe(str(name)), "bold"), "\n", (kind, "dim")), no_wrap=True,
                             justify="right" if kind in ("int", "float") else "left",
                             max_width=MAX_CELL, overflow="ellipsis")
        shown = table_rows(value, rows)
        for row in shown:
            table.add_row(*(Text("null", style="dim") if cell is None else Text(terminal_safe(text_scalar(cell))) for cell in row))
        self.console.print(table)
        total, columns = len(frame), len(frame.columns)
        if total > len(shown):
            self.console.print(Text(f"... {total - len(shown):,} more rows", style="dim"))
        self.console.print(Text(f"({total:,} row{'s' if total != 1 else ''}, {columns} column{'s' if columns != 1 else ''})",
                                style="dim"))

    def error(self, error: DslError) -> None:
        lines = terminal_safe(error.render()).splitlines()
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
