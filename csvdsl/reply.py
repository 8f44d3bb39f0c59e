"""Programs in model replies: the fenced block a reply carries, and how to fence one."""

from __future__ import annotations

import re

_FENCE = re.compile(r"```[ \t]*csvdsl[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)  # a cut-off fence still counts
_ANY_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.DOTALL)


def find_program(text: str) -> str | None:
    """The program in a reply: its last ```csvdsl block, else its last fenced block."""
    blocks = _FENCE.findall(text) or _ANY_FENCE.findall(text)
    return blocks[-1].strip("\n") if blocks else None


def fenced(program: str) -> str:
    return f"```csvdsl\n{program.rstrip()}\n```"
