"""Tasks per second from the built-in teacher on the full flights table (with airlines for
joins), and the share of candidates rejected. No peer: nothing else writes these tasks."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import flights_csvs

from csvdsl.pipeline.generate import generate


def main(directory: Path, per_table: int = 40):
    data = flights_csvs(directory)
    out = Path(tempfile.mkdtemp(prefix="csvdsl-generate-"))
    try:
        started = time.perf_counter()
        summary = generate([str(data / "flights.csv")], out, per_table, seed=1, progress=False)
        elapsed = time.perf_counter() - started
    finally:
        shutil.rmtree(out, ignore_errors=True)
    tasks, rejected = sum(summary.tasks.values()), sum(summary.rejected.values())
    print(f"{'generate, flights (336,776 rows)':<46} {tasks / elapsed:9.1f} tasks/s   {tasks} tasks in {elapsed:.1f} s "
          f"(incl. loading), {rejected / (tasks + rejected):.0%} of candidates rejected: {dict(summary.rejected)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir()) / "csvdsl-bench")
