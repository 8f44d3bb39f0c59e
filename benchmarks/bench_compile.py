"""The front end on a 10-statement program: parse + check + compile, and what canonicalization
adds to compiling (no outside peer: this is our own front end)."""

from __future__ import annotations

from common import median_seconds, report
from csvdsl.check import TableType, check
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


if __name__ == "__main__":
    main()
