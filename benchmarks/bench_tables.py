"""Reading and typing the flights CSV, against pandas.read_csv doing the same typing (its own
inference plus the ISO datetime column), though without our ragged-row and encoding checks;
and a table 100,000 columns wide (issue 15: 43 s before; each column is typed on its own, so
the time is linear in the columns), with 25,000 columns for the ratio."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

from common import flights_csvs, median_seconds, report
from csvdsl.tables import read_table


def main(directory: Path):
    path = flights_csvs(directory) / "flights.csv"
    ours = median_seconds(lambda: read_table(path), repeat=7, warmup=1)
    peer = median_seconds(lambda: pd.read_csv(path, parse_dates=["time_hour"]), repeat=7, warmup=1)
    report("read + type flights.csv (34 MB)", ours, peer, "pandas")
    wide = {}
    for columns in (25_000, 100_000):
        path = directory / f"wide_{columns}.csv"
        if not path.exists():
            names = ",".join(f"c{i}" for i in range(columns))
            path.write_text(names + "\n" + ",".join(map(str, range(columns))) + "\n" + ",".join(["x"] * columns) + "\n")
        wide[columns] = median_seconds(lambda path=path: read_table(path), repeat=1, warmup=0)
    peer = median_seconds(lambda: pd.read_csv(directory / "wide_100000.csv"), repeat=1, warmup=0)
    report("read + type 100,000 columns x 2 rows", wide[100_000], wide[25_000], "25,000 columns")
    print(f"{'':46} pandas.read_csv of the 100,000 columns: {peer * 1000:.0f} ms")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir()) / "csvdsl-bench")
