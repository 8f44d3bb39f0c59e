"""The first acceptance program on the full flights table, against hand-written pandas; the
supervised worker's cost per program, against running in-process; and, with ``--limits``, the
issue-15 figures: wall time and peak memory (the child's own VmHWM) of hostile programs run
by `csvdsl run` at default limits."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

from common import flights_10k, flights_csvs, median_seconds, peak_bytes, report
from csvdsl.engine import Engine
from csvdsl.program import plan_program
from csvdsl.tables import Catalog
from planner.execute import execute

PROGRAM = """
delayed = flights | filter dep_delay > 60 and origin in ["JFK", "LGA"]
top = delayed
  | group carrier aggregate n = count(), avg_delay = mean(dep_delay)
  | sort n desc, carrier
  | take 3
answer top.carrier
"""


def hand_written(flights):
    delayed = flights[(flights["dep_delay"] > 60) & flights["origin"].isin(["JFK", "LGA"])]
    top = (delayed.groupby("carrier").agg(n=("carrier", "size"), avg_delay=("dep_delay", "mean")).reset_index()
           .sort_values(["n", "carrier"], ascending=[False, True]).head(3))
    return list(top["carrier"])


def main(directory: Path):
    catalog = Catalog.from_specs([str(flights_csvs(directory) / "flights.csv")])
    tables = {"flights": catalog["flights"].frame}
    _, plan = plan_program(PROGRAM, catalog)
    ours = execute(plan, tables).answer.value
    assert ours == hand_written(tables["flights"]) == ["B6", "DL", "9E"], ours
    ours_time = median_seconds(lambda: execute(plan, tables), repeat=30)
    peer_time = median_seconds(lambda: hand_written(tables["flights"]), repeat=30)
    report("execute acceptance program 1 (336,776 rows)", ours_time, peer_time, "pandas")
    worker_overhead(directory)


def worker_overhead(directory: Path) -> None:
    """Distinct programs over 10,000 flights (as in the rewards benchmark), in the worker and in-process."""
    from csvdsl.worker import Worker

    tables = {"flights": str(flights_10k(directory))}
    programs = [f'd = flights | filter dep_delay > {k} and origin in ["JFK", "LGA"]\n'
                f't = d | group carrier aggregate n = count() | sort n desc, carrier | take 3\nanswer t.carrier'
                for k in range(40)]
    engine = Engine(tables)  # as the worker's own: a result cache of the default size
    with Worker() as worker:
        worker.run(tables, programs[0])
        in_worker = median_seconds(lambda: [worker.run(tables, p) for p in programs], repeat=5, warmup=1) / len(programs)
        in_process = median_seconds(lambda: [engine.run(p) for p in programs], repeat=5, warmup=1) / len(programs)
    report("one program, supervised worker (10,000 rows)", in_worker, in_process, "in-process")
    print(f"{'':46} worker overhead {1000 * (in_worker - in_process):.2f} ms per program")


# Each figure: a program `csvdsl run` executes at default limits, and the table it reads.
HOSTILE = {
    "join then six sorts": (
        "j = t | join t on k\n" + "\n".join(f"s{i} = {'j' if i == 0 else f's{i - 1}'} | sort {'a' if i % 2 else 'b'}"
                                             for i in range(6)) + "\nr = s5 | aggregate n = count()\nanswer r.n"),
    "string doubling through bindings": (
        "a0 = w | derive s = concat(s, s)\n" + "\n".join(f"a{i} = a{i - 1} | derive s = concat(s, s)" for i in range(1, 8))
        + "\nr = a7 | aggregate n = count()\nanswer r.n"),
    "replace growth": 'r = w | derive s = replace(s, "x", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")\n'
                      'a = r | aggregate n = count()\nanswer a.n',
    "--format json of a 3M-row answer": "answer big",
    "grouped mode over 200k ids, --timeout 2": "m = ids | group id aggregate m = mode(s) | aggregate n = count()\nanswer m.n",
}


def limit_figures(directory: Path) -> None:
    """Wall time and peak memory of each hostile program in a fresh `csvdsl run`."""
    import numpy as np

    data = directory / "limits"
    data.mkdir(parents=True, exist_ok=True)
    files = {
        "t": lambda: pd.DataFrame({"k": np.arange(4_000_000) % 2_000_000, "a": np.random.default_rng(0).random(4_000_000),
                                   "b": np.arange(4_000_000.0), "c": np.arange(4_000_000.0)}),
        "w": lambda: pd.DataFrame({"s": ["x" * 100] * 1_000_000}),
        "big": lambda: pd.DataFrame({"n": np.arange(3_000_000), "f": np.arange(3_000_000) / 7, "s": ["abc"] * 3_000_000}),
        "ids": lambda: pd.DataFrame({"id": np.arange(200_000), "s": np.resize(["a", "b", "c"], 200_000)}),
    }
    for name, make in files.items():
        if not (data / f"{name}.csv").exists():
            make().to_csv(data / f"{name}.csv", index=False)
    for what, program in HOSTILE.items():
        table = {"join then six sorts": "t", "--format json of a 3M-row answer": "big",
                 "grouped mode over 200k ids, --timeout 2": "ids"}.get(what, "w")
        extra = ["--format", "json"] if "json" in what else ["--timeout", "2"] if "timeout" in what else []
        seconds, peak, code, out = _measure(["run", "-e", program, "--csv", str(data / f"{table}.csv"), *extra])
        print(f"{what:<46} {seconds:7.1f} s  peak {peak / 2**30:5.2f} GiB  exit {code}  {out}", flush=True)


def _measure(args: list[str]) -> tuple[float, int, int, str]:
    """(wall seconds, peak resident bytes, exit status, a short note) of `csvdsl ARGS`."""
    import os
    import subprocess
    import time

    started = time.monotonic()
    with open(os.devnull, "w") as sink:
        process = subprocess.Popen([sys.executable, "-m", "csvdsl", *args], stdout=subprocess.PIPE if "json" not in args
                                   else sink, stderr=subprocess.PIPE, text=True)
        peak = 0
        while process.poll() is None:  # the child's own high-water mark, read while it lives
            try:
                peak = max(peak, peak_bytes(process.pid))
            except (OSError, ValueError, StopIteration):  # the child ended (or is a zombie) meanwhile
                pass
            time.sleep(0.05)
        out, err = process.communicate()
    note = (err or "").strip().splitlines()[0][:90] if err else (out or "").strip()[:40]
    return time.monotonic() - started, peak, process.returncode, note


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--limits"]
    folder = Path(arguments[0]) if arguments else Path(tempfile.gettempdir()) / "csvdsl-bench"
    main(folder)
    if "--limits" in sys.argv:
        limit_figures(folder)
