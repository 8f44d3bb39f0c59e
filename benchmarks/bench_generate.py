"""Tasks per second from the built-in teacher on the full flights table (with airlines for
joins), the share of candidates rejected, the share of tasks that compose four or more
operations and two or more skills, each skill's coverage and the difficulty levels. No peer:
nothing else writes these tasks."""

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
        from csvdsl.parse import parse

        parse("answer 1")  # the grammar is compiled once per process: not part of generating
        started = time.perf_counter()
        summary = generate([str(data / "flights.csv"), str(data / "airlines.csv")], out, per_table, seed=1, progress=False)
        elapsed = time.perf_counter() - started
    finally:
        shutil.rmtree(out, ignore_errors=True)
    tasks, rejected = sum(summary.tasks.values()), sum(summary.rejected.values())
    print(f"{'generate, flights (336,776 rows) + airlines':<46} {tasks / elapsed:9.1f} tasks/s   {tasks} tasks in "
          f"{elapsed:.1f} s (incl. loading), {rejected / (tasks + rejected):.0%} of candidates rejected: {dict(summary.rejected)}")
    levels = ", ".join(f"{level} {count / tasks:.0%}" for level, count in sorted(summary.difficulty.items()))
    coverage = ", ".join(f"{skill} {count / tasks:.0%}" for skill, count in summary.skills.most_common())
    print(f"{'':<46} {summary.composed / tasks:.0%} with 4+ operations and 2+ skills; levels: {levels}")
    print(f"{'':<46} skills: {coverage}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir()) / "csvdsl-bench")
