"""The model-facing texts: the prompts shipped in ``prompts/`` (the teacher's, with the language card),
the short system prompt of student conversations, and the question a model is asked."""

from __future__ import annotations

from functools import cache
from importlib import resources
from itertools import accumulate
from pathlib import Path

from csvdsl.tables import TableInfo
from csvdsl.tables.info import task_text
from verifier.environment import task_tables


@cache
def prompt_text(name: str) -> str:
    """A model-facing text shipped in ``prompts/`` (from the installed package, or the tree)."""
    try:
        return (resources.files("csvdsl._prompts") / name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError):
        return (Path(__file__).resolve().parents[2] / "prompts" / name).read_text(encoding="utf-8")


def system_prompt() -> str:
    """The solver's role, then the language card."""
    return prompt_text("solver.md").strip() + "\n\n" + prompt_text("language_card.md").strip()


def user_prompt(question: str, tables: list[TableInfo], hint: str | None = None) -> str:
    """The question with the tables' names and shapes (and the hint, when given)."""
    return task_text(question, tables, hint)


STUDENT_PROMPT_LIMIT = 1500  # characters: a student learns the language into its weights, not from the prompt

_STUDENT_REPLY = (
    "You answer questions about CSV tables with programs in csvdsl. Reply with one program in a ```csvdsl "
    "fenced block (think in `#` comments inside it); it runs and you see the result. Bindings stay for later "
    "programs. End with `answer <expression>`: once it has run, you are done. If a program fails, fix it from "
    "the error's caret and hint.")
_STUDENT_TOOL = (
    "You answer questions about CSV tables with programs in csvdsl. Call the `run` tool with a program (think "
    "in `#` comments inside it); you see its result. Bindings stay for later calls. End with a program whose "
    "last statement is `answer <expression>`: once it has run, you are done. If a program fails, fix it from "
    "the error's caret and hint.")


def student_system_prompt(tables: list[TableInfo], tools: bool = False) -> str:
    """The short system prompt of student conversations (at most ``STUDENT_PROMPT_LIMIT``
    characters, for any number of tables): what a reply looks like (a fenced program, or
    ``run`` tool calls), then the task's tables and columns. Columns that do not fit are
    counted, not listed; tables that do not fit even without their columns are counted on a
    last line (the question lists every table)."""
    head = [_STUDENT_TOOL if tools else _STUDENT_REPLY, "", "Tables:"]
    budget = STUDENT_PROMPT_LIMIT - len("\n".join(head))
    smallest = [len(_table_line(table, 0)) + 1 for table in tables]  # + 1: the newline before each line
    needed = list(accumulate(smallest, initial=0))  # needed[k]: the first k tables, each in its shortest line
    shown = len(tables)
    while shown and needed[shown] + len(_more_tables(len(tables) - shown)) > budget:
        shown -= 1
    budget -= len(_more_tables(len(tables) - shown))
    lines = []
    for position, table in enumerate(tables[:shown]):
        # A fair share of what is left, but never so much that a later table's shortest line no longer fits.
        later = needed[shown] - needed[position + 1]
        share = min(max(budget // (shown - position), smallest[position]), budget - later)
        lines.append(_table_line(table, share - 1))
        budget -= len(lines[-1]) + 1
    return "\n".join(head + lines) + _more_tables(len(tables) - shown)


def _more_tables(count: int) -> str:
    """The last line for the tables not listed (with its newline), or nothing."""
    return f"\n- ... and {count} more table{'s' if count != 1 else ''}, listed with the question" if count else ""


def _table_line(table: TableInfo, width: int) -> str:
    """``- name: col (type), ...`` in at most ``width`` characters where it can be; the
    shortest form, ``- name: N columns``, when not even one column fits."""
    head = f"- {table.name}:"
    shown = []
    for index, column in enumerate(table.columns):
        rest = len(table.columns) - index - 1
        item = f"{column.name} ({column.type})"
        more = f" ... and {rest} more" if rest else ""
        if len(head) + sum(len(s) + 2 for s in shown) + len(item) + 2 + len(more) > width:
            if not shown:
                return f"{head} {len(table.columns)} column{'s' if len(table.columns) != 1 else ''}"
            return f"{head} {', '.join(shown)} ... and {len(table.columns) - index} more"
        shown.append(item)
    return f"{head} {', '.join(shown)}"


def environment_prompt(row: dict) -> list[dict]:
    """An RL row's prompt for ``verifier.environment.CsvdslEnv``: the short system prompt in its
    tool form (call ``run``), and an empty user message that the environment's ``reset`` fills
    with the task (TRL appends what ``reset`` returns to the last message)."""
    return [{"role": "system", "content": student_system_prompt(task_tables(row["tables"]), tools=True)},
            {"role": "user", "content": ""}]
