"""Bounds on one program: its size, nesting, time, rows and bytes, and how flags set them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Bounds on one program's execution; ``None`` switches a bound off."""

    max_rows: int | None = 20_000_000
    timeout: float | None = 60.0
    max_program_chars: int | None = 100_000
    max_expression_depth: int | None = 64
    max_bytes: int | None = 2 * 2**30  # of any one step's result (a wide join can be small in rows)


def limits_from_args(args) -> Limits:
    """The limits the command-line flags ask for; 0 switches a bound off."""
    def bound(value):
        return value if value > 0 else None

    return Limits(max_rows=bound(args.max_rows), timeout=bound(args.timeout), max_bytes=bound(args.max_bytes),
                  max_program_chars=bound(args.max_program_chars), max_expression_depth=bound(args.max_depth))
