"""64 programs sharing a filter prefix through one Engine, with its cache and without it."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from common import flights_csvs, median_seconds, report

from csvdsl.engine import Engine
from csvdsl.tables import Catalog

ASKS = ["n = count()", "m = mean(dep_delay)", "x = max(arr_delay)", "d = count_distinct(dest)",
        "s = sum(distance)", "q = median(air_time)", "c = count(tailnum)", "lo = min(dep_time)"]


def programs(n: int = 64) -> list[str]:
    """Students who filter the same way, then group by different keys and aggregate differently."""
    keys = ["carrier", "origin", "month", "dest"]
    return [
        f'late = flights | filter dep_delay > 30 and origin in ["JFK", "LGA"] | filter distance > 500\n'
        f"g = late | group {keys[i % 4]} aggregate {ASKS[i % len(ASKS)]} | sort {keys[i % 4]}\n"
        f"answer g"
        for i in range(n)
    ]


def main(directory: Path):
    catalog = Catalog.from_specs([str(flights_csvs(directory) / "flights.csv")])
    texts = programs()

    def run_all(cache_bytes):
        engine = Engine(catalog, cache_bytes=cache_bytes)
        for text in texts:
            engine.run(text)
        return engine

    cached = median_seconds(lambda: run_all(512 * 2**20), repeat=5, warmup=1)
    uncached = median_seconds(lambda: run_all(0), repeat=5, warmup=1)
    stats = run_all(512 * 2**20).stats
    report("64 programs, shared filter prefix: cache on", cached, uncached, "cache off")
    print(f"{'':46} cache speed-up {uncached / cached:.2f}x, hit rate {stats.hit_rate:.0%} "
          f"({stats.hits} hits, {stats.misses} misses, {stats.bytes / 2**20:.1f} MiB held)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir()) / "csvdsl-bench")
