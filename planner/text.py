"""Text functions beyond the basics: regular expressions, parts, positions and lenient numbers.

Patterns run in RE2 through ``pyarrow.compute``: linear time whatever the pattern, the same
engine DuckDB uses. Python's ``re`` never sees a program's pattern (backtracking would let one
pattern stall a worker)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from csvdsl.tables.shapes import arrow_text


def _text(values: pa.Array, index) -> pd.Series:
    return pd.Series(values.to_numpy(zero_copy_only=False), index=index, dtype="str")


def _bools(values: pa.Array, index) -> pd.Series:
    return pd.Series(pd.arrays.BooleanArray(values.fill_null(False).to_numpy(zero_copy_only=False).astype(bool),
                                            values.is_null().to_numpy(zero_copy_only=False)), index=index)


def matches(s, pattern):
    """True where some part of ``s`` matches ``pattern``."""
    return _bools(pc.match_substring_regex(arrow_text(s), pattern=pattern), s.index)


def whole_match_pattern(pattern: str, group: int) -> tuple[str, str]:
    """A pattern matching all of a text whose first match of ``pattern`` it keeps, and the
    rewrite that gives that match's ``group`` (0: all of it). Shared with the SQL form."""
    if group == 0:
        return f"^(?s:.*?)({pattern})(?s:.*)$", "\\1"
    return f"^(?s:.*?)(?:{pattern})(?s:.*)$", f"\\{group}"


def extract(s, pattern, group=0):
    """The first match of ``pattern`` in ``s`` (or its group ``group``); null without a match."""
    text = arrow_text(s)
    wrapped, rewrite = whole_match_pattern(pattern, int(group))
    found = pc.match_substring_regex(text, pattern=pattern)
    parts = pc.replace_substring_regex(text, pattern=wrapped, replacement=rewrite)
    return _text(pc.if_else(found, parts, pa.scalar(None, pa.string())), s.index)


def regex_replace(s, pattern, new):
    """Every match of ``pattern`` replaced by ``new`` (``\\1`` is the first group)."""
    return _text(pc.replace_substring_regex(arrow_text(s), pattern=pattern, replacement=new), s.index)


def split_part(s, sep, n):
    """Part ``n`` of ``s`` split at ``sep`` (1 is the first, -1 the last); "" when there is none."""
    n = int(n)

    def part(value):
        parts = value.split(sep)
        i = n - 1 if n > 0 else len(parts) + n
        return parts[i] if 0 <= i < len(parts) else ""

    return s.map(part, na_action="ignore").astype("str")


def position(s, part):
    """Where ``part`` first starts in ``s``, counting characters from 1; 0 when it is absent."""
    return s.str.find(part).astype(float) + 1


def substr(s, start, length=None):
    """SQL's substring with positions computed per row: 1 is the first character, and
    positions before it count toward the length."""
    starts = start.to_numpy(dtype=float, na_value=np.nan)
    lengths = None if length is None else length.to_numpy(dtype=float, na_value=np.nan)
    out = []
    for value, first, count in zip(s.to_numpy(dtype=object, na_value=None), starts,
                                   lengths if lengths is not None else [0.0] * len(starts)):
        if value is None or np.isnan(first) or np.isnan(count):
            out.append(None)
            continue
        begin = int(first) - 1
        end = None if lengths is None else max(begin + max(int(count), 0), 0)
        out.append(value[max(begin, 0):end])
    return pd.Series(out, index=s.index, dtype="str")


# ---------------------------------------------------------------- number()

CURRENCIES = "$€£¥"
MINUSES = ("-", "\u2212")
ORDINALS = ("st", "nd", "rd", "th")
# RE2 syntax, shared with the SQL form. Groups: 1 sign, 2 currency, 3 sign after the currency,
# 4 whole part (plain, or with commas between groups of three), 5 fraction, 6 exponent, 7 suffix.
NUMBER_PATTERN = (
    "^[ \\t\\x{00A0}]*([+\\-\\x{2212}]?)[ \\t]*([" + CURRENCIES + "]?)[ \\t]*([+\\-\\x{2212}]?)[ \\t]*"
    "([0-9]{1,3}(?:,[0-9]{3})+|[0-9]*)(\\.[0-9]+)?([eE][+\\-]?[0-9]+)?[ \\t]*"
    "([" + CURRENCIES + "%]|(?i:st|nd|rd|th))?[ \\t\\x{00A0}]*$"
)
GROUPS = 7


def number(s):
    """A number written for people (``1,234``, ``−3.1``, ``45%``, ``$12``, ``10th``) as a float;
    null for anything else. docs/language.md lists exactly what is read."""
    parts = _parts(arrow_text(s))
    out = np.full(len(s), np.nan)
    for i, groups in enumerate(parts):
        if groups is not None:
            out[i] = _value(*groups)
    return pd.Series(out, index=s.index)


def _parts(text: pa.Array) -> list:
    """Each text's seven groups, or None where it is not a number."""
    rows = []
    found = pc.match_substring_regex(text, pattern=NUMBER_PATTERN).to_pylist()
    columns = [pc.replace_substring_regex(text, pattern=NUMBER_PATTERN, replacement=f"\\{g}").to_pylist()
               for g in range(1, GROUPS + 1)]
    for i, hit in enumerate(found):
        rows.append(tuple(column[i] for column in columns) if hit else None)
    return rows


def _value(sign, currency, sign2, whole, fraction, exponent, suffix) -> float:
    ordinal = suffix.lower() in ORDINALS
    if (not whole and not fraction) or (sign and sign2) or (currency and suffix and suffix in CURRENCIES) \
            or (ordinal and (fraction or exponent or not whole)):
        return np.nan
    value = float(whole.replace(",", "") + fraction + exponent)
    return -value if (sign or sign2) in MINUSES else value

