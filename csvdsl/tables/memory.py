"""How a large read gives memory back as it goes, so its peak stays under 3x the file.

Reading and typing a file allocates several times its size in blocks that live briefly (Arrow's
parsed blocks, each column's strings until it is typed). The allocators keep freed blocks for
reuse: mimalloc (Arrow's default) and glibc's heap alike, so the peak is the sum of everything
ever allocated rather than of what is alive (4.5x the file on flights.csv). Served by glibc with
every block of 128 KiB or more mapped on its own, a freed block goes back to the system at once
and the peak follows what is alive (2.8-2.9x). Each new block then costs fresh pages: on a
34 MB file the read takes about twice the CPU, on a 1 GB file a few percent more. Only reads of
at least ``EAGER_BYTES`` pay it."""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
from contextlib import contextmanager

import pyarrow as pa

EAGER_BYTES = 256 * 2**20
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


@contextmanager
def returning_memory(size: int):
    """Within the block, a read of ``size`` bytes gives freed memory back at once (see the
    module); elsewhere than on glibc, or for a smaller read, nothing changes."""
    if _LIBC is None or size < EAGER_BYTES:
        yield
        return
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    _LIBC.mallopt(_M_MMAP_THRESHOLD, _MAPPED_FROM)
    try:
        yield
    finally:
        for option, value in _AFTER:
            _LIBC.mallopt(option, value)
        pa.set_memory_pool(previous)
        _LIBC.malloc_trim(0)
