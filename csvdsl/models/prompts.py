"""The model-facing texts: the prompts shipped in ``prompts/``, and the question a model is asked."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from csvdsl.tables import TableInfo


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
    lines = ["Tables:"]
    for table in tables:
        columns = ", ".join(f"{c.name} ({c.type})" for c in table.columns)
        lines.append(f"- {table.name}: {table.rows:,} rows; columns {columns}")
    lines += ["", f"Question: {question}"]
    if hint:
        lines += ["", "Hint:", hint]
    return "\n".join(lines)
