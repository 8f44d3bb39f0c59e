"""Reading and typing the flights CSV, against pandas.read_csv doing the same typing (its own
inference plus the ISO datetime column), though without our ragged-row and encoding checks."""

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


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir()) / "csvdsl-bench")
