"""Bounds on one program: its size, nesting, time, rows and bytes, how flags set them, and the
deadline that one run carries through parse, check, compile and every step."""

from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from csvdsl.errors import LimitError


@dataclass(frozen=True)
class Limits:
    """Bounds on one program's execution; ``None`` switches a bound off."""

    max_rows: int | None = 20_000_000
    timeout: float | None = 60.0
    max_program_chars: int | None = 100_000
    max_expression_depth: int | None = 64
    max_bytes: int | None = 2 * 2**30  # of all the results alive at once (a wide join can be small in rows)

    def __post_init__(self):
        for name in ("max_rows", "timeout", "max_program_chars", "max_expression_depth", "max_bytes"):
            value = getattr(self, name)
            # NaN compares false with everything, so it would silently switch the bound off.
            if value is not None and (isinstance(value, bool) or not math.isfinite(value)):
                raise ValueError(f"Limits({name}={value!r}): a bound is a finite number, or None for none")


class Deadline:
    """The wall-clock end of one run: started once, checked by every stage (parse, check,
    compile, canonicalization, each step), so the time they take is counted together."""

    def __init__(self, timeout: float | None):
        self.timeout = timeout
        self.end = None if timeout is None else time.monotonic() + timeout
        self.span = None  # the last check's: where the program is while the step after it runs

    def remaining(self) -> float | None:
        return None if self.end is None else self.end - time.monotonic()

    def expired(self) -> bool:
        return self.end is not None and time.monotonic() > self.end

    def check(self, where: str, span=None) -> None:
        """Raise ``LimitError("timeout")`` once the deadline has passed."""
        self.span = span
        if self.expired():
            raise timeout_error(self.timeout, where, span)


def timeout_error(timeout: float | None, where: str, span=None) -> LimitError:
    return LimitError("timeout", f"the program ran longer than {timeout:g} seconds (stopped {where})", span=span,
                      hint="raise the limit with --timeout SECONDS (or Limits(timeout=...)), or filter earlier")


class _HardStop(BaseException):
    """Raised by the alarm inside whatever pandas call is running; a BaseException so no
    ``except Exception`` on the way up turns it into an ordinary failure."""


@contextmanager
def hard_stop(deadline: Deadline, grace: float = 0.5):
    """Interrupt the block (even inside one long pandas call, between two bytecodes) once the
    deadline plus ``grace`` has passed, raising ``LimitError("timeout")``. It uses SIGALRM, so
    it only works on the main thread; elsewhere the block runs with the soft checks alone
    (model-written programs run in a supervised worker, which is killed instead)."""
    remaining = deadline.remaining()
    usable = remaining is not None and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def alarm(signum, frame):
        raise _HardStop()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, max(remaining, 0) + grace)
    try:
        yield
    except _HardStop:
        raise timeout_error(deadline.timeout, "in the middle of a step", deadline.span) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def seconds_flag(text: str) -> float:
    """The argparse type of --timeout: a finite number of seconds, 0 or more (a negative or
    NaN timeout would switch the limit off)."""
    import argparse

    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError("must be a finite number of seconds, 0 or more")
    return value


seconds_flag.__name__ = "seconds"  # argparse names the type in its message


def limits_from_args(args) -> Limits:
    """The limits the command-line flags ask for; 0 switches a bound off (the parser has
    refused negative and non-finite values already)."""
    def bound(value):
        return value if value > 0 else None

    return Limits(max_rows=bound(args.max_rows), timeout=bound(args.timeout), max_bytes=bound(args.max_bytes),
                  max_program_chars=bound(args.max_program_chars), max_expression_depth=bound(args.max_depth))
