"""The two engines (pandas, DuckDB) against their peers, all in one run:

1. every acceptance program (tests/fixtures/acceptance) on flights (336,776 rows), with
   hand-written DuckDB SQL and Polars doing the same work; geometric-mean ratios; then the same
   on a generated CSV of ``--scale-mb`` MB (flights repeated), where a program's fixed cost
   (parsing, checking, compiling, fetching) no longer hides what its SQL costs;
2. reading flights.csv: csvdsl's Catalog against pandas (C and pyarrow engines), Polars, DuckDB,
   with each one's peak memory; then each once on the generated CSV;
3. rewards: completions a second on 10,000 and 336,776 rows with each engine;
4. the REPL's time to its first prompt on a generated CSV, against DuckDB reading the file.

    python benchmarks/bench_engines.py [DIR] [--repl-mb 1024] [--scale-mb 1024] [--quick]

The default REPL file is 64 MB; ``--repl-mb 1024`` is the 1 GB case. The programs at scale run
on a 1 GB file by default, which needs about 8 GB of memory for the copies the five contenders
hold (``--quick`` uses the REPL's file; ``--scale-mb 0`` skips them)."""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from common import flights_csvs

from csvdsl.engine import Engine, default_backend
from csvdsl.program import plan_program
from csvdsl.render import to_json
from csvdsl.tables import Catalog
from verifier import rewards
from verifier.pool import default_workers

ROOT = Path(__file__).resolve().parents[1]
ACCEPTANCE = sorted((ROOT / "tests" / "fixtures" / "acceptance").glob("*.dsl"))

# The same work as each acceptance program, written by hand for DuckDB (same tables, same storage).
SQL = {
    "above_average_delay": "SELECT count(*) FROM flights WHERE dep_delay > (SELECT avg(dep_delay) FROM flights)",
    "best_airline_join": """SELECT a.name FROM (SELECT carrier, avg(arr_delay) AS m FROM flights WHERE arr_delay IS NOT NULL
        GROUP BY carrier) f JOIN airlines a USING (carrier) ORDER BY m LIMIT 1""",
    "busiest_months_rank": """SELECT month, n FROM (SELECT month, count(*) AS n, rank() OVER (ORDER BY count(*) DESC) AS r
        FROM flights GROUP BY month) WHERE r <= 2 ORDER BY month""",
    "busiest_weekday_ewr": """SELECT dayname(time_hour) AS dow, count(*) AS n FROM flights WHERE origin = 'EWR'
        GROUP BY dow ORDER BY n DESC LIMIT 1""",
    "delay_statistics": """SELECT round(r, 2) FROM (SELECT corr(dep_delay, arr_delay) AS r, median(air_time) AS med,
        quantile_cont(distance, 0.9) AS q FROM flights)""",
    "summer_vs_rest": """SELECT avg(CASE WHEN month IN (6, 7, 8) THEN dep_delay END)
        > avg(CASE WHEN month NOT IN (6, 7, 8) THEN dep_delay END) FROM flights""",
    "top_delayed_carriers": """SELECT carrier FROM (SELECT carrier, count(*) AS n, avg(dep_delay) AS avg_delay FROM flights
        WHERE dep_delay > 60 AND origin IN ('JFK', 'LGA') GROUP BY carrier) ORDER BY n DESC, carrier LIMIT 3""",
}


def polars_queries(pl, flights, airlines):
    """The same work in Polars (lazy, collected), answers as plain Python values."""
    f, col = flights.lazy(), pl.col
    return {
        "above_average_delay": lambda: f.filter(col("dep_delay") > col("dep_delay").mean()).select(pl.len()).collect().item(),
        "best_airline_join": lambda: (f.filter(col("arr_delay").is_not_null()).group_by("carrier")
                                      .agg(m=col("arr_delay").mean()).join(airlines.lazy(), on="carrier")
                                      .sort("m").head(1).collect()["name"].item()),
        "busiest_months_rank": lambda: (f.group_by("month").agg(n=pl.len())
                                        .with_columns(r=col("n").rank("min", descending=True)).filter(col("r") <= 2)
                                        .sort("month").select("month", "n").collect().rows()),
        "busiest_weekday_ewr": lambda: (f.filter(col("origin") == "EWR").group_by(dow=col("time_hour").dt.strftime("%A"))
                                        .agg(n=pl.len()).sort("n", descending=True).head(1).collect()["dow"].item()),
        "delay_statistics": lambda: round(f.select(r=pl.corr("dep_delay", "arr_delay"), med=col("air_time").median(),
                                                   q=col("distance").quantile(0.9, "linear")).collect()["r"].item(), 2),
        "summer_vs_rest": lambda: (f.select(s=pl.when(col("month").is_in([6, 7, 8])).then(col("dep_delay")).mean()
                                            > pl.when(~col("month").is_in([6, 7, 8])).then(col("dep_delay")).mean())
                                   .collect().item()),
        "top_delayed_carriers": lambda: (f.filter((col("dep_delay") > 60) & col("origin").is_in(["JFK", "LGA"]))
                                         .group_by("carrier").agg(n=pl.len(), avg_delay=col("dep_delay").mean())
                                         .sort(["n", "carrier"], descending=[True, False]).head(3)
                                         .collect()["carrier"].to_list()),
    }


def _program(path: Path) -> tuple[str, dict]:
    lines = path.read_text(encoding="utf-8").splitlines()
    expect = next(json.loads(line.split(":", 1)[1]) for line in lines if line.startswith("# expect:"))
    return "\n".join(line for line in lines if not line.startswith(("# csv:", "# expect:"))) + "\n", expect


def _plain(answer: dict):
    """An expected JSON answer as the peers give it."""
    value = answer["value"]
    if answer["type"] == "table":
        return [tuple(row) for row in value["rows"]]
    return value


def interleaved_medians(contenders: dict, repeat: int) -> dict[str, float]:
    """Each contender's median seconds, the contenders taking turns within every round (in an
    order that rotates), so a machine whose load changes during the run slows them alike."""
    times, names = {name: [] for name in contenders}, list(contenders)
    for round_ in range(repeat + 1):  # round 0 warms up
        for name in names[round_ % len(names):] + names[: round_ % len(names)]:  # who goes first rotates
            start = time.perf_counter()
            contenders[name]()
            if round_:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def _geomean(values) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def _sql_answer(rows: list[tuple], kind: str):
    """A hand-written query's rows as the answer's plain form (see ``_plain``)."""
    return rows if kind == "table" else [r[0] for r in rows] if kind == "list" else rows[0][0]


def bench_programs(directory: Path, repeat: int, csv: Path | None = None, with_pandas: bool = True) -> dict:
    """The acceptance programs over ``csv`` (default flights.csv, whose answers the fixtures
    give); on any file, every contender must give the same answer as the hand-written SQL."""
    import duckdb
    import polars as pl

    data = flights_csvs(directory)
    flights = csv or data / "flights.csv"
    catalog = Catalog.from_specs([f"flights={flights}", str(data / "airlines.csv")])
    rows_in = len(catalog["flights"].frame)
    backends = ("pandas", "duckdb") if with_pandas else ("duckdb",)
    engines = {backend: Engine(catalog, cache_bytes=0, backend=backend) for backend in backends}
    connection = duckdb.connect()  # the peer: the same tables copied in once, as the DuckDB engine does
    connection.execute("SET enable_progress_bar = false")  # as the engine's: no bar, nor its tracking
    for name in catalog.names():
        connection.register("frame", catalog[name].frame)
        connection.execute(f'CREATE TABLE "{name}" AS SELECT * FROM frame')
        connection.unregister("frame")
    frames = {name: pl.from_pandas(catalog[name].frame) for name in catalog.names()}
    polars = polars_queries(pl, frames["flights"], frames["airlines"])

    print(f"\nacceptance programs on {flights.name} ({rows_in:,} rows), median ms; "
          "run = text to answer, exec = plan to answer")
    columns = ["pandas", "duckdb", "d.exec", "SQL", "polars"] if with_pandas else ["duckdb", "d.exec", "SQL", "polars"]
    ratios = ["duck/SQL", "exec/SQL", "pandas/duck", "duck/polars"] if with_pandas else ["duck/SQL", "exec/SQL", "duck/polars"]
    print(f"{'program':<22} " + " ".join(f"{c:>8}" for c in columns) + "   " + " ".join(f"{r:>11}" for r in ratios))
    rows = []
    for path in ACCEPTANCE:
        text, expect = _program(path)
        sql, query = SQL[path.stem], polars[path.stem]
        got_sql = _sql_answer(connection.execute(sql).fetchall(), expect["type"])
        if csv is None:
            assert got_sql == _plain(expect), (path.stem, got_sql)
        for backend, engine in engines.items():
            got = to_json(engine.run(text).answer)
            assert got == expect if csv is None else _plain(got) == got_sql, (backend, path.stem, got)
        assert query() == got_sql, (path.stem, query())
        _, plan = plan_program(text, catalog)
        contenders = {
            "duckdb": lambda: engines["duckdb"].run(text),
            "exec": lambda: engines["duckdb"].execute(plan),
            "sql": lambda: connection.execute(sql).fetchall(),
            "polars": query,
        }
        if with_pandas:
            contenders["pandas"] = lambda: engines["pandas"].run(text)
        times = interleaved_medians(contenders, repeat)
        rows.append(times)
        ms = {k: v * 1000 for k, v in times.items()}
        line = {"duck/SQL": times["duckdb"] / times["sql"], "exec/SQL": times["exec"] / times["sql"],
                "pandas/duck": times.get("pandas", 0) / times["duckdb"], "duck/polars": times["duckdb"] / times["polars"]}
        print(f"{path.stem:<22} " + " ".join(f"{ms['exec' if c == 'd.exec' else c.lower()]:8.2f}" for c in columns) + "   "
              + " ".join(f"{line[r]:10.2f}x" for r in ratios), flush=True)
    means = {
        "duckdb engine / hand-written DuckDB SQL": _geomean(r["duckdb"] / r["sql"] for r in rows),
        "duckdb engine (plan only) / hand-written SQL": _geomean(r["exec"] / r["sql"] for r in rows),
        "duckdb engine / Polars": _geomean(r["duckdb"] / r["polars"] for r in rows),
    }
    if with_pandas:
        means |= {
            "pandas engine / hand-written DuckDB SQL": _geomean(r["pandas"] / r["sql"] for r in rows),
            "pandas engine / duckdb engine": _geomean(r["pandas"] / r["duckdb"] for r in rows),
            "pandas engine / Polars": _geomean(r["pandas"] / r["polars"] for r in rows),
        }
    for name, ratio in means.items():
        print(f"  geometric mean, {name:<46} {ratio:6.2f}x")
    return means


# Each reader as code: timed here, and run once in a fresh process for its peak memory.
OURS = "csvdsl Catalog (read + type + checks)"
LOW_MEMORY = "csvdsl, CSVDSL_LOW_MEMORY=1"  # memory given back as it goes (csvdsl/tables/memory.py)
READERS = {
    OURS: ("from csvdsl.tables import Catalog", "Catalog.from_specs([path])"),
    "pandas.read_csv (C engine)": ("import pandas as pd", "pd.read_csv(path, parse_dates=['time_hour'])"),
    "pandas.read_csv(engine='pyarrow')": ("import pandas as pd", "pd.read_csv(path, engine='pyarrow', parse_dates=['time_hour'])"),
    "polars.read_csv": ("import polars as pl", "pl.read_csv(path, try_parse_dates=True)"),
    # No progress bar: DuckDB draws it on stdout (where the peak is read) for a read over 2 s.
    "duckdb read_csv (into a table)": ("import duckdb", "duckdb.connect().execute('SET enable_progress_bar = false')"
                                       ".execute(f\"CREATE TABLE t AS SELECT * FROM read_csv('{path}')\")"),
}

# A fresh process reads the file once; its peak resident memory (VmHWM) less that before the
# read is what the read took.
_PEAK = """
import sys, time
{setup}
def peak():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) * 1024
path = sys.argv[1]
before, start = peak(), time.perf_counter()
result = {call}
print(peak() - before, time.perf_counter() - start)
"""


def _fresh_read(name: str, path: str, low_memory: str = "") -> tuple[int, float]:
    """One reader's peak bytes and seconds reading ``path`` once in a fresh process (csvdsl's
    with ``CSVDSL_LOW_MEMORY`` set to ``low_memory``: csvdsl/tables/memory.py)."""
    setup, call = READERS[name]
    done = subprocess.run([sys.executable, "-c", _PEAK.format(setup=setup, call=call), path], capture_output=True,
                          text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "CSVDSL_LOW_MEMORY": low_memory})
    peak, seconds = done.stdout.split()
    return int(peak), float(seconds)


def bench_reading(directory: Path, repeat: int, large: Path | None = None) -> None:
    """flights.csv read by each reader in turn (medians), then each reader's peak memory in a
    fresh process; the same once on ``large``, where csvdsl's reader gives memory back as it goes
    (csvdsl/tables/memory.py)."""
    path = str(flights_csvs(directory) / "flights.csv")
    size = Path(path).stat().st_size
    readers = {}
    for name, (setup, call) in READERS.items():
        scope = {"path": path}
        exec(setup, scope)  # noqa: S102 - the fixed imports above
        readers[name] = eval(f"lambda: {call}", scope)
    times = interleaved_medians(readers, repeat)
    ours = times[OURS]
    print(f"\nreading flights.csv ({size / 2**20:.0f} MB), median ms, csvdsl's time as a multiple of each; "
          "peak memory of one read in a fresh process, as a multiple of the file")
    for name, seconds in times.items():
        peak, _ = _fresh_read(name, path)
        print(f"  {name:<40} {seconds * 1000:8.1f} ms   csvdsl / this {ours / seconds:5.2f}x   "
              f"peak {peak / size:5.2f}x the file")
    peak, seconds = _fresh_read(OURS, path, low_memory="1")
    print(f"  {LOW_MEMORY:<40} {seconds * 1000:8.1f} ms   (one read in a fresh process)   peak {peak / size:5.2f}x the file")
    if large is None:
        return
    size = large.stat().st_size
    print(f"reading {large.name} ({size / 2**20:,.0f} MB) once per reader, each in a fresh process")
    reads = {name: _fresh_read(name, str(large)) for name in READERS}
    reads[LOW_MEMORY] = _fresh_read(OURS, str(large), low_memory="1")
    for name, (peak, seconds) in reads.items():
        print(f"  {name:<40} {seconds:8.2f} s    csvdsl / this {reads[OURS][1] / seconds:5.2f}x   "
              f"peak {peak / size:5.2f}x the file")


def _reward_batch(round_: int, rows: int) -> tuple[list[str], dict]:
    """64 completions over 8 prompts; the constants change each round, so nothing is known yet."""
    k = round_ * 7
    templates = [
        ('d = flights | filter dep_delay > {k} and origin in ["JFK", "LGA"]\nt = d | group carrier aggregate n = count() '
         '| sort n desc, carrier | take 3\nanswer t.carrier', [30, 45, 60, 60]),
        ("d = flights | filter day == {k} | group origin aggregate m = mean(arr_delay) | sort m desc | take 1\nanswer d.origin",
         [1, 2, 6, 6]),
        ("a = flights | aggregate m = mean(distance)\nd = flights | filter distance > a.m and air_time > {k} "
         "| aggregate n = count()\nanswer d.n", [100, 120, 200, 200]),
        ('d = flights | derive gain = dep_delay - arr_delay | filter carrier == "UA" | aggregate g = median(gain), '
         'x = max(gain) | derive y = g + {k}\nanswer d.y', [0, 1, 2, 2]),
    ]
    completions, teachers = [], []
    for template, constants in templates * 2:
        teacher = template.format(k=constants[-1] + k % 5)
        for i in range(8):
            completions.append("```csvdsl\n" + template.format(k=constants[i % len(constants)] + k % 5 + i // 4 * round_) + "\n```")
            teachers.append(teacher)
    return completions, {"program": teachers}


def bench_rewards(directory: Path, repeat: int, sizes: list[int]) -> dict:
    flights = pd.read_csv(flights_csvs(directory) / "flights.csv")
    results = {}
    print(f"\nrewards (the 4 reward functions) on 64 new completions per batch, completions/s (median batch), "
          f"scored on the default pool of {default_workers()} supervised workers")
    for rows in sizes:
        for backend in ("pandas", "duckdb"):
            path = directory / f"flights_{rows}_{backend}.csv"  # one file per engine: the rewards key engines by tables
            if not path.exists():
                flights.head(rows).to_csv(path, index=False)
            tables = json.dumps({"flights": str(path)})
            with default_backend(backend):
                # The rewards score in supervised workers, which take their engine from the
                # environment they were started in: new ones for each backend.
                rewards.supervise(False)
                rewards.supervise(True)
                teacher_engine = rewards.engine_for_tables(tables)
                assert teacher_engine.backend == backend

                def batch(round_):
                    completions, columns = _reward_batch(round_, rows)
                    answers = [json.dumps(to_json(teacher_engine.run(t).answer)) for t in columns["program"]]
                    kwargs = {"answer": answers, "program": columns["program"], "tables": [tables] * len(completions)}
                    start = time.perf_counter()
                    for reward in rewards.REWARDS:
                        reward(prompts=[""] * len(completions), completions=completions, **kwargs)
                    return len(completions), time.perf_counter() - start

                batch(0)  # tables and their variants loaded: as in training, once per process
                timings = [batch(round_) for round_ in range(1, repeat + 1)]
            rate = statistics.median(n / seconds for n, seconds in timings)
            results[(rows, backend)] = rate
            print(f"  {rows:>9,} rows  {backend:<7} {rate:8,.0f} completions/s", flush=True)
        ratio = results[(rows, "duckdb")] / results[(rows, "pandas")]
        print(f"  {rows:>9,} rows  duckdb / pandas throughput {ratio:.2f}x")
    return results


def _generated_csv(directory: Path, megabytes: int) -> Path:
    """flights rows repeated (with fresh flight numbers) until the file holds ``megabytes`` MB."""
    path = directory / f"flights_{megabytes}mb.csv"
    if path.exists():
        return path
    flights = pd.read_csv(flights_csvs(directory) / "flights.csv")
    per_copy = (flights_csvs(directory) / "flights.csv").stat().st_size
    copies = max(1, round(megabytes * 2**20 / per_copy))
    partial = path.with_suffix(".part")
    for copy in range(copies):
        chunk = flights.assign(flight=flights["flight"] + copy * 10_000)
        chunk.to_csv(partial, mode="a" if copy else "w", header=copy == 0, index=False)
    partial.rename(path)
    return path


def _wall(command: list[str], stdin: str = "") -> float:
    start = time.perf_counter()
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    return time.perf_counter() - start


def bench_repl(directory: Path, megabytes: int, repeat: int) -> None:
    path = _generated_csv(directory, megabytes)
    size = path.stat().st_size / 2**20
    python = sys.executable
    times = {}
    for backend in ("pandas", "duckdb"):
        # A script of one line ends the REPL right after its first prompt would show.
        command = [python, "-m", "csvdsl", "repl", "--engine", backend, f"big={path}"]
        times[f"csvdsl repl --engine {backend}"] = statistics.median(_wall(command, "tables\n") for _ in range(repeat))
    peer = [python, "-c", f"import duckdb; duckdb.connect().execute(\"CREATE TABLE big AS SELECT * FROM read_csv('{path}')\")"]
    times["duckdb (python -c, read_csv into a table)"] = statistics.median(_wall(peer) for _ in range(repeat))
    baseline = statistics.median(_wall([python, "-m", "csvdsl", "repl"], "\n") for _ in range(repeat))
    peer_time = times["duckdb (python -c, read_csv into a table)"]
    print(f"\nREPL time to first prompt on a generated {size:,.0f} MB CSV (median of {repeat}, process start included; "
          f"csvdsl repl with no table: {baseline:.2f} s)")
    for name, seconds in times.items():
        print(f"  {name:<42} {seconds:7.2f} s   / duckdb {seconds / peer_time:5.2f}x")


def main(directory: Path, repl_mb: int = 64, quick: bool = False, scale_mb: int | None = None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    print(f"bench_engines: {os.cpu_count()} cores; figures from one run, ratios measured side by side")
    bench_programs(directory, repeat=5 if quick else 11)
    scale_mb = (repl_mb if quick else 1024) if scale_mb is None else scale_mb
    large = _generated_csv(directory, scale_mb) if scale_mb else None
    if large is not None:
        bench_programs(directory, repeat=3, csv=large)
    bench_reading(directory, repeat=3 if quick else 7, large=large)
    bench_rewards(directory, repeat=3 if quick else 9, sizes=[10_000] if quick else [10_000, 336_776])
    bench_repl(directory, repl_mb, repeat=1 if quick else 3)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", default=Path(tempfile.gettempdir()) / "csvdsl-bench", type=Path)
    parser.add_argument("--repl-mb", type=int, default=64, help="size of the REPL's generated CSV (1024 for the 1 GB case)")
    parser.add_argument("--scale-mb", type=int, help="size of the CSV the programs also run on and the "
                        "readers also read (default 1024, or the REPL's with --quick; 0: none)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, rewards on 10,000 rows only")
    arguments = parser.parse_args()
    main(arguments.directory, arguments.repl_mb, arguments.quick, arguments.scale_mb)
