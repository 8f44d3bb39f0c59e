"""The first acceptance program on the full flights table, against hand-written pandas."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from common import flights_csvs, median_seconds, report
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


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir()) / "csvdsl-bench")
