"""The shapes a text value must have to be read as a number or a time, in RE2 syntax, and the
reading of text by them: the reader types columns by them, and `int`, `float`, `date` and
`datetime` convert text by them on both engines (planner/functions.py; planner/sql_text.py
holds DuckDB to the same), so a value reads alike everywhere."""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Surrounding whitespace, which the reader trims and `strip` removes: Python's str.isspace
# characters, the set pyarrow's utf8_trim_whitespace trims.
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())

# Patterns are matched against trimmed, non-missing values.
INT_RE = r"^[+-]?\d+$"
FLOAT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?([iI][nN][fF]|[iI][nN][fF][iI][nN][iI][tT][yY])$"
# A numeric-looking value with a leading zero (zip codes, ids) would lose the zero as a number;
# Arrow's integer cast also reads hexadecimal (0x1F), which is text here.
LEADING_ZERO_RE = r"^[+-]?0[\dxX]"
DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
DATETIME_RE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
# Text that `date` and `datetime` read without a format, once trimmed: DATETIME_RE with every
# field in its range (DuckDB reads hour 24 and offsets past 23:59, which pandas does not) and
# at most a space before the zone.
TIME_TEXT_RE = (r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
                r"([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)? ?(Z|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)?)?$")
# Times are kept from year 1 to 9999 (Python's datetime range): an offset can carry 0001-01-01
# into year 0, which no CSV writer in Python could print.
FIRST_TIME, LAST_TIME = "0001-01-01 00:00:00", "9999-12-31 23:59:59.999999"
FIRST, LAST = np.datetime64(FIRST_TIME, "us"), np.datetime64(LAST_TIME, "us")
# A space before the zone, which goes before reading (DuckDB refuses it; the SQL does the same).
ZONE_SPACE = r" ([Z+-])"


def numbers(s: pd.Series) -> pd.Series:
    """Text as floats where, trimmed, it has the shape the reader types as a number; null
    elsewhere. Arrow parses them, rounding correctly as DuckDB does."""
    trimmed = pc.utf8_trim_whitespace(arrow_text(s))
    numeric = pc.if_else(pc.match_substring_regex(trimmed, pattern=FLOAT_RE), trimmed, None)
    return pd.Series(pc.cast(numeric, pa.float64()).to_numpy(zero_copy_only=False), index=s.index)


def times(s: pd.Series, fmt: str | None = None) -> pd.Series:
    """Text as naive UTC datetimes in microseconds: ISO 8601 of TIME_TEXT_RE's shape, or with
    ``fmt`` text of Python's strptime shape for it (pandas alone would read 7 to 9 digits of
    %f, and then every value of the column in nanoseconds, where 1600 is out of range). Null
    for other text and for times outside years 1 to 9999; pandas' errors on a bad ``fmt`` pass."""
    text = arrow_text(s)
    if fmt is None:
        text = pc.utf8_trim_whitespace(text)
        shaped = pc.match_substring_regex(text, pattern=TIME_TEXT_RE)
        # A space before the zone goes, and digits past the microsecond.
        text = pc.replace_substring_regex(text, pattern=ZONE_SPACE, replacement=r"\1")
        text = pc.replace_substring_regex(text, pattern=r"(\.\d{6})\d+", replacement=r"\1")
    else:
        shaped = pc.match_substring_regex(text, pattern=format_shape(fmt))
    text = pd.Series(pc.if_else(shaped, text, None).to_numpy(zero_copy_only=False), index=s.index, dtype="str")
    parsed = pd.to_datetime(text, format=fmt or "ISO8601", utc=True, errors="coerce").dt.tz_convert(None)
    return within_years(parsed.astype("datetime64[us]"))


def within_years(t: pd.Series) -> pd.Series:
    return t.where((t >= FIRST) & (t <= LAST))


@functools.lru_cache(maxsize=4096)
def time_of(value: str):
    """One text read as ``times`` reads it (a Timestamp, or NaT): a string compared with a date.
    Kept, since reading one value costs about a millisecond (pd.Timestamp: a microsecond), and
    the checker and every run of a comparison read the same constants."""
    return times(pd.Series([value], dtype="str")).iloc[0]


def format_shape(fmt: str) -> str:
    """The RE2 pattern of the text ``fmt`` reads: Python's strptime regex for it, whole and
    ignoring case (its digits ASCII)."""
    import _strptime  # the standard library's own format regexes; pandas keeps a copy

    pattern = re.sub(r"\(\?P<\w+>", "(", _strptime.TimeRE().pattern(fmt))  # RE2 refuses repeated names
    return f"^(?i:{pattern})$"


def arrow_text(s: pd.Series) -> pa.Array:
    """A column of text (or of text and nulls held as objects) as an Arrow array."""
    text = s if s.dtype != object else s.astype("str")
    return pa.array(text.to_numpy(dtype=object, na_value=None), type=pa.string())
