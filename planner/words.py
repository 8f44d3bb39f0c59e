"""Names as people say them: identifier-like headers as words (``body_mass_g`` -> "body mass
(g)"), tables as the things their rows are, and numbers with thousands separators.

The rule for headers (docs/generate.md): a name that is one identifier (letters, digits,
``_``) is split at underscores and at lower-to-upper case changes; a few abbreviations
analysts use are spelled out (``dep`` -> departure); a last part that is a unit (``g``,
``mm``, ``km``, ``usd``, ...) goes in parentheses; the rest is lower case, except words
written in capitals. Any other name (one with spaces or punctuation) is kept as it is."""

from __future__ import annotations

import re

from csvdsl.grammar import IDENTIFIER

_PARTS = re.compile(r"[A-Z]{2,}\d*(?=[A-Z][a-z]|\b|_)|[A-Z]?[a-z]+\d*|[A-Z]+\d*|\d+")
ABBREVIATIONS = {
    "dep": "departure", "arr": "arrival", "sched": "scheduled", "avg": "average", "num": "number", "pct": "percent",
    "qty": "quantity", "amt": "amount", "temp": "temperature", "lat": "latitude", "lon": "longitude",
    "alt": "altitude", "dist": "distance", "dewp": "dew point", "humid": "humidity", "precip": "precipitation",
    "visib": "visibility", "dir": "direction", "tz": "time zone", "yr": "year", "mo": "month", "hr": "hour",
}
UNITS = frozenset({"g", "kg", "mg", "lb", "lbs", "mm", "cm", "m", "km", "mi", "ft", "s", "ms", "min", "h", "usd", "eur",
                   "gbp", "kwh", "mph", "kmh", "pct"})


def spoken(name: str) -> str:
    """A header as words: ``body_mass_g`` -> "body mass (g)", ``sched_arr_time`` ->
    "scheduled arrival time"; a name that is not one identifier is kept as written, its line
    breaks and runs of spaces made single spaces."""
    if not IDENTIFIER.match(name):
        return " ".join(name.split())  # a header with a line break stays on one line
    parts = [p for chunk in name.split("_") for p in _PARTS.findall(chunk)]
    if not parts:
        return name
    unit = None
    if len(parts) > 1 and parts[-1].lower() in UNITS:
        unit = parts.pop().lower()
    words = [p if p.isupper() and len(p) > 1 else ABBREVIATIONS.get(p.lower(), p.lower()) for p in parts]
    text = " ".join(words)
    return f"{text} ({unit})" if unit else text


def plural(noun: str) -> str:
    """A rough English plural for grouping keys ("carrier" -> "carriers"); a word that already
    ends in s gets "values" ("species values") rather than a wrong plural."""
    if noun.endswith(")") or noun.endswith("s"):
        return f"{noun} values"
    if re.search(r"[^aeiou]y$", noun):
        return noun[:-1] + "ies"
    if re.search(r"(x|z|ch|sh)$", noun):
        return noun + "es"
    return noun + "s"


def entity(table: str) -> str:
    """What a table's rows are: ``penguins`` -> "penguins", ``weather`` -> "weather rows"."""
    words = spoken(table)
    return words if words.endswith("s") else f"{words} rows"


def number_text(value) -> str:
    """A number as people write it: thousands separators from 10,000 up (so years stay 2013), no
    trailing ".0"; the value is unchanged."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    text = repr(value)
    if not re.fullmatch(r"-?\d+\.\d+", text):  # exponents, inf and nan as Python writes them
        return text
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    return f"{sign}{int(whole):,}.{fraction}" if int(whole) >= 10_000 else text
