"""Spreading a run over processes or machines: ``--shard i/n`` takes every n-th table (for
``generate``) or task (for ``solve``), each shard writing its own solutions file."""

from __future__ import annotations

from pathlib import Path

from csvdsl.pipeline.jsonl import rows

SOLUTION_FILES = "solutions*.jsonl"


class ShardError(ValueError):
    """A --shard value that is not I/N with 0 <= I < N."""


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"2/4"`` -> (2, 4): shard 2 of 4, counted from 0 (``None`` is the whole run)."""
    if text is None:
        return 0, 1
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ShardError(f"--shard takes I/N, such as 0/4, not {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise ShardError(f"--shard {text}: I must be from 0 to N-1")
    return index, count


def mine(position: int, shard: tuple[int, int]) -> bool:
    return position % shard[1] == shard[0]


def task_shard(task_id: str, shard: tuple[int, int]) -> bool:
    """Tasks are dealt by id (hex), so a shard's share does not depend on file order."""
    return mine(int(task_id, 16), shard)


def solutions_file(shard: tuple[int, int]) -> str:
    return "solutions.jsonl" if shard[1] == 1 else f"solutions-{shard[0]}-of-{shard[1]}.jsonl"


def solution_rows(directory: Path):
    """Every attempt in a directory, whichever shard wrote it."""
    for path in sorted(Path(directory).glob(SOLUTION_FILES)):
        yield from rows(path)
