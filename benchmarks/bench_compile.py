"""The front end on a 10-statement program: parse + check + compile, and what canonicalization
adds to compiling (no outside peer: this is our own front end); and chains of 1,000 and 4,000
bindings, each filtering the one before, whose ratio shows compiling is linear (about 4x)."""

from __future__ import annotations

from common import median_seconds, report
from csvdsl.check import TableType, check
from csvdsl.limits import Limits
from csvdsl.program import plan_program
from csvdsl.tables import Catalog, table_from_frame
from csvdsl.parse import parse
from planner.compile import compile_program

PROGRAM = """
delayed = flights | filter dep_delay > 60 and origin in ["JFK", "LGA"]
avg = flights | aggregate d = mean(dep_delay), a = mean(arr_delay)
late = flights | filter dep_delay > avg.d and arr_delay > avg.a
by_carrier = late | group carrier aggregate n = count(), m = mean(dep_delay), q = quantile(dep_delay, 0.9)
named = by_carrier | join airlines on carrier | derive share = n / 100.0
ranked = named | derive r = rank(n desc) | filter r <= 5 | sort r, carrier
months = delayed | derive m = month(time_hour) | group m aggregate n = count() | sort n desc
summer = flights | aggregate s = mean(case when month in [6, 7, 8] then dep_delay end)
top = ranked | take 3 | select carrier, name, n
answer top.name
"""

TABLES = {
    "flights": TableType((("year", "int"), ("month", "int"), ("dep_delay", "float"), ("arr_delay", "float"),
                          ("carrier", "string"), ("origin", "string"), ("time_hour", "datetime"))),
    "airlines": TableType((("carrier", "string"), ("name", "string"))),
}


def front_end(canonical=True):
    return compile_program(check(parse(PROGRAM), TABLES), canonical=canonical)


def main():
    assert len(parse(PROGRAM).statements) == 10
    checked = check(parse(PROGRAM), TABLES)
    report("parse + check + compile, 10 statements", median_seconds(front_end, repeat=200, warmup=5))
    report("canonicalize + compile, 10 statements", median_seconds(lambda: compile_program(checked), repeat=200, warmup=5),
           median_seconds(lambda: compile_program(checked, canonical=False), repeat=200, warmup=5), "compile alone")
    import pandas as pd

    catalog = Catalog([table_from_frame("t", pd.DataFrame({"x": range(100)}))])
    unbounded = Limits(max_program_chars=None, timeout=None)
    chains = {n: chain(n) for n in (1000, 4000)}
    times = {n: median_seconds(lambda text=text: plan_program(text, catalog, limits=unbounded), repeat=3, warmup=1)
             for n, text in chains.items()}
    report(f"parse + check + compile, 4,000 bindings ({len(chains[4000]):,} chars)", times[4000], times[1000],
           "1,000 bindings")


def chain(bindings: int) -> str:
    """Each binding filters the one before (issue 15: 1,000 of them took 18-24 s before)."""
    return "\n".join(["b0 = t | filter x > 0"] + [f"b{i} = b{i - 1} | filter x > {i}" for i in range(1, bindings)]
                     + [f"answer b{bindings - 1}"])


if __name__ == "__main__":
    main()
