"""Reading and typing the flights CSV, against pandas.read_csv doing the same typing (its own
inference plus the ISO datetime column), though without our ragged-row and encoding checks
(bench_engines times pandas' pyarrow engine, Polars and DuckDB reading the same file); the
peak memory of a read against the file's size (aim: under 3x); and a table 100,000 columns wide
(issue 15: 43 s before; each column is typed on its own, so the time is linear in the columns),
with 25,000 columns for the ratio; and a small table (20 rows, 8 columns), the size of the
tables a QA dataset brings by the thousand (csvdsl import), where the fixed cost of a read shows."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from common import flights_csvs, median_seconds, report
from csvdsl.tables import read_table

# A fresh process reads the file once; its peak resident memory less that of the same process
# before reading is what the read took.
_PEAK = """
import sys
sys.path.insert(0, sys.argv[2])
from common import peak_bytes
from csvdsl.tables import read_table
before = peak_bytes()
read_table(sys.argv[1])
print(peak_bytes() - before)
"""


def main(directory: Path):
    path = flights_csvs(directory) / "flights.csv"
    ours = median_seconds(lambda: read_table(path), repeat=7, warmup=1)
    peer = median_seconds(lambda: pd.read_csv(path, parse_dates=["time_hour"]), repeat=7, warmup=1)
    report("read + type flights.csv (34 MB)", ours, peer, "pandas")
    peak = int(subprocess.run([sys.executable, "-c", _PEAK, str(path), str(Path(__file__).resolve().parent)],
                              capture_output=True, text=True, check=True).stdout)
    print(f"{'read flights.csv: peak memory / file size':46} {peak / path.stat().st_size:.2f}x "
          f"({peak / 2**20:.0f} MiB for {path.stat().st_size / 2**20:.0f} MiB)")
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
    small = _small_table(directory)
    ours = median_seconds(lambda: read_table(small), repeat=200, warmup=5)
    for engine in ("c", "pyarrow"):
        peer = median_seconds(lambda engine=engine: pd.read_csv(small, engine=engine), repeat=200, warmup=5)
        report("read + type a table of 20 rows x 8 columns", ours, peer, f"pandas {engine}")


def _small_table(directory: Path) -> Path:
    path = directory / "small_20x8.csv"
    if not path.exists():
        rows = [f"Player {i},{'ABC'[i % 3]},{1990 + i},{(i - 9) / 7:.2f},2020-01-{i + 1:02d},{'' if i == 19 else 'x'},{i}%,{i + 1}"
                for i in range(20)]
        path.write_text("name,team,year,score,date,notes,pct,rank\n" + "\n".join(rows) + "\n")
    return path


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir()) / "csvdsl-bench")
