"""How SQL spells names and values, and the functions that read text (planner/text.py,
csvdsl/tables/shapes.py) in DuckDB's SQL, held to what pandas reads."""

from __future__ import annotations

import math

from csvdsl.tables.shapes import FIRST_TIME, FLOAT_RE, LAST_TIME, TIME_TEXT_RE, WHITESPACE, ZONE_SPACE
from planner.text import CURRENCIES, MINUSES, NUMBER_PATTERN, ORDINALS, whole_match_pattern


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return f"CAST({value} AS BIGINT)"
    if isinstance(value, float):
        if math.isinf(value):
            return "CAST('inf' AS DOUBLE)" if value > 0 else "CAST('-inf' AS DOUBLE)"
        return f"CAST({value!r} AS DOUBLE)"
    return "'" + value.replace("'", "''") + "'"


def _clamped(x: str) -> str:
    # Positions past a billion change nothing (limits bound strings far below) and would overflow.
    return f"CAST(least(greatest({x}, -1000000000), 1000000000) AS BIGINT)"


def substring(args) -> str:
    """SQL-standard positions (as Postgres): a start before 1 eats into the length; DuckDB
    would count a negative start from the end. Positions may be computed per row."""
    text, start = args[0], _clamped(args[1])
    first = f"greatest({start}, 1)"
    if len(args) < 3:
        return f"(CASE WHEN {args[1]} IS NOT NULL THEN substring({text}, {first}) END)"
    length = f"greatest({start} + greatest({_clamped(args[2])}, 0) - {first}, 0)"
    return f"(CASE WHEN {args[1]} IS NOT NULL AND {args[2]} IS NOT NULL THEN substring({text}, {first}, {length}) END)"


def extract(args) -> str:
    text, pattern = args[0], args[1]
    wrapped, rewrite = whole_match_pattern(pattern, int(args[2]) if len(args) > 2 else 0)
    return f"(CASE WHEN regexp_matches({text}, {literal(pattern)}) THEN regexp_replace({text}, {literal(wrapped)}, {literal(rewrite)}) END)"


def number(args) -> str:
    """number() in SQL: the same RE2 pattern and the same rules as planner.text.number."""
    text = args[0]
    group = lambda i: f"regexp_extract({text}, {literal(NUMBER_PATTERN)}, {i})"  # noqa: E731
    sign, currency, sign2, whole, fraction, exponent, suffix = (group(i) for i in range(1, 8))
    listed = lambda values: ", ".join(literal(v) for v in values)  # noqa: E731
    valid = (f"regexp_matches({text}, {literal(NUMBER_PATTERN)}) AND ({whole} <> '' OR {fraction} <> '') "
             f"AND NOT ({sign} <> '' AND {sign2} <> '') AND NOT ({currency} <> '' AND {suffix} IN ({listed(CURRENCIES)})) "
             f"AND NOT (lower({suffix}) IN ({listed(ORDINALS)}) AND ({fraction} <> '' OR {exponent} <> '' OR {whole} = ''))")
    negative = f"({sign} IN ({listed(MINUSES)}) OR {sign2} IN ({listed(MINUSES)}))"
    value = f"TRY_CAST(replace({whole}, ',', '') || {fraction} || {exponent} AS DOUBLE)"
    return f"(CASE WHEN {valid} THEN (CASE WHEN {negative} THEN -{value} ELSE {value} END) END)"


def strip(text: str) -> str:
    return f"trim({text}, {literal(WHITESPACE)})"  # DuckDB's trim() alone keeps tabs


def number_of_text(text: str) -> str:
    """`int` and `float` of text as csvdsl.tables.shapes.numbers reads it (DuckDB alone would
    read "1_000" and "\tinfinity"); text of another shape extracts as '', which casts to null."""
    return f"TRY_CAST(regexp_extract({strip(text)}, {literal(_whole(FLOAT_RE))}) AS DOUBLE)"


def timestamp(text: str) -> str:
    """`datetime` of text as csvdsl.tables.shapes.times reads it without a format: null for text
    of another shape and for times outside years 1 to 9999."""
    shaped = f"regexp_extract({strip(text)}, {literal(_whole(TIME_TEXT_RE))})"
    unzoned = f"regexp_replace({shaped}, {literal(ZONE_SPACE)}, '\\1')"
    # Through TIMESTAMPTZ, so "...-05:00" is converted to UTC as on pandas (the connection's
    # TimeZone is UTC: planner/oracle.connect); a TIMESTAMP cast would drop the offset.
    parsed = f"CAST(TRY_CAST({unzoned} AS TIMESTAMPTZ) AS TIMESTAMP)"
    return f"(CASE WHEN {parsed} BETWEEN TIMESTAMP '{FIRST_TIME}' AND TIMESTAMP '{LAST_TIME}' THEN {parsed} END)"


def _whole(pattern: str) -> str:
    """``pattern`` (anchored alternatives) as one group matching the whole text."""
    return f"^(?:{pattern})$"
