"""How a read gives memory back as it goes, so its peak stays near 3x the file.

Reading and typing a file allocates several times its size in blocks that live briefly (Arrow's
parsed blocks, each column's strings until it is typed). The allocators keep freed blocks for
reuse: mimalloc (Arrow's default) keeps a thread's freed pages for that thread, so the columns
typed on one thread do not reuse what another freed, and the peak grows towards the sum of
everything allocated rather than of what is alive.

- A file of ``RELEASE_FROM`` bytes or more (a pipe: its columns' bytes, once read) has
  mimalloc's freed pages returned after each batch of columns is typed (one column, unless the
  table is wide): 2.94-2.95x a 1 GB file (3.14-3.16x without), 3.2-3.3x at 256 MB (3.7-4.0x),
  at no cost in time measured there. On flights.csv (34 MB) it cut the peak from 5.4x to 4.3x
  but took 10-15% longer, so smaller files return them once, after typing.
- When memory is short, a read is served by glibc with every block of 128 KiB or more mapped on
  its own, so a freed block goes back to the system at once and the peak follows what is alive
  (2.4-2.7x); each new block then costs fresh pages, which on flights.csv takes 2.2-2.6x the
  time. A read does it when the usual peak would take more than half the memory available now,
  or when ``CSVDSL_LOW_MEMORY=1`` asks (``=0``: never)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
from contextlib import contextmanager

import pyarrow as pa

VARIABLE = "CSVDSL_LOW_MEMORY"
USUAL_PEAK = 6  # the usual peak, as a multiple of the file (measured 2.9-5.5x)
RELEASE_FROM = 64 * 2**20  # files this large return freed pages as their columns are typed (above)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
_MAPPED_FROM = 128 * 2**10  # glibc's own starting threshold
# After the read, fixed thresholds (setting one ends glibc's adaptive ones) where the adaptive
# ones end up in a process working on large frames: blocks up to 32 MiB from the heap, whose
# top is returned to the system past 64 MiB free.
_AFTER = ((_M_MMAP_THRESHOLD, 32 * 2**20), (_M_TRIM_THRESHOLD, 64 * 2**20))


def _glibc():
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


_LIBC = _glibc()


def available_memory() -> int | None:
    """The memory the system can give now without swapping (Linux's MemAvailable)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            return next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        return None


def eager(size: int) -> bool:
    """Whether a read of ``size`` bytes gives memory back as it goes (see the module)."""
    asked = os.environ.get(VARIABLE, "")
    if asked in ("0", "1"):
        return asked == "1"
    available = available_memory()
    return available is not None and USUAL_PEAK * size > available / 2


@contextmanager
def returning_memory(size: int):
    """Within the block, a read of ``size`` bytes gives freed memory back at once when
    ``eager(size)``; elsewhere than on glibc nothing changes. Yields whether it does."""
    if _LIBC is None or not eager(size):
        yield False
        return
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    _LIBC.mallopt(_M_MMAP_THRESHOLD, _MAPPED_FROM)
    try:
        yield True
    finally:
        for option, value in _AFTER:
            _LIBC.mallopt(option, value)
        pa.set_memory_pool(previous)
        _LIBC.malloc_trim(0)
