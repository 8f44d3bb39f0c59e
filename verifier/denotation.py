"""WikiTableQuestions' denotation match: answers as lists of strings, normalized (case,
whitespace, accents, quotes, dashes, citations, trailing details) and read as numbers, dates
or strings, then compared as sets, as the official ``evaluator.py`` does."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

_QUOTES = re.compile(r"[‘’´`]")
_DOUBLE_QUOTES = re.compile(r"[“”]")
_DASHES = re.compile(r"[‐‑‒–—−]")
_CITATIONS = re.compile(r"((?<!^)\[[^\]]*\]|\[\d+\]|[•♦†‡*#+])*$")
_DETAILS = re.compile(r"(?<!^)( \([^)]*\))*$")
_OUTER_QUOTES = re.compile(r'^"([^"]*)"$')
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")


def normalize(text: str) -> str:
    """The official evaluator's string normalization."""
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if unicodedata.category(c) != "Mn")
    text = _DASHES.sub("-", _DOUBLE_QUOTES.sub('"', _QUOTES.sub("'", text)))
    while True:
        before = text
        text = _CITATIONS.sub("", text.strip())
        text = _DETAILS.sub("", text.strip())
        text = _OUTER_QUOTES.sub(r"\1", text.strip())
        if text == before:
            break
    if text.endswith("."):
        text = text[:-1]
    return re.sub(r"\s+", " ", text).lower().strip()


@dataclass(frozen=True)
class Denotation:
    """One answer item: its normalized text, and its number or (year, month, day) if it is one."""

    normalized: str
    number: float | None = None
    date: tuple[int, int, int] | None = None

    def match(self, other: "Denotation") -> bool:
        if self.number is not None and other.number is not None:
            return abs(self.number - other.number) < 1e-6
        if self.date is not None and other.date is not None:
            return self.date == other.date
        return self.normalized == other.normalized


def _number(text: str) -> float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        amount = float(text)
    except ValueError:
        return None
    return None if math.isnan(amount) or math.isinf(amount) else amount


def _date(text: str) -> tuple[int, int, int] | None:
    """``yyyy-mm-dd`` with ``xx`` for an unknown part (-1), as the official DateValue.parse."""
    parts = text.lower().split("-")
    if len(parts) != 3:
        return None
    try:
        year = -1 if parts[0] in ("xx", "xxxx") else int(parts[0])
        month = -1 if parts[1] == "xx" else int(parts[1])
        day = -1 if parts[2] == "xx" else int(parts[2])
    except ValueError:
        return None
    if year == month == day == -1 or not (month == -1 or 1 <= month <= 12) or not (day == -1 or 1 <= day <= 31):
        return None
    return year, month, day


def canonical(text: str) -> str:
    """What CoreNLP's tagger would give as a target's canonical value, for numbers written
    with thousands separators (``1,000``); used when the official tagged files are absent."""
    stripped = text.strip()
    return stripped.replace(",", "") if _THOUSANDS.match(stripped) else stripped


def to_denotation(text: str, canon: str | None = None) -> Denotation:
    """The official ``to_value``: a number, a date (a bare year is a number), or a string.
    ``canon`` is the tagged dataset's canonical form of the text, when there is one."""
    normalized = normalize(text)
    canon = text if not canon else canon
    number = _number(canon)
    if number is not None:
        return Denotation(normalized, number=number)
    ymd = _date(canon)
    if ymd is not None:
        if ymd[1] == ymd[2] == -1:
            return Denotation(normalized, number=ymd[0])
        return Denotation(normalized, date=ymd)
    return Denotation(normalized)


def denotations(texts: list[str], canons: list[str] | None = None) -> list[Denotation]:
    """A list of answer items as a set of denotations (the official ``to_value_list``)."""
    canons = canons if canons is not None and len(canons) == len(texts) else [None] * len(texts)
    return list(dict.fromkeys(to_denotation(t, c) for t, c in zip(texts, canons)))


def check_denotation(targets: list[Denotation], predicted: list[Denotation]) -> bool:
    """The official ``check_denotation``: as many items, and every target matched by one."""
    if len(targets) != len(predicted):
        return False
    return all(any(t.match(p) for p in predicted) for t in targets)


def answer_texts(answer: dict) -> list[str]:
    """A typed csvdsl answer as the strings a WTQ system would print: a list's items, a
    one-column table's cells (else its cells row by row), numbers without a needless ``.0``,
    and yes or no for a bool; nothing for null."""
    kind, value = answer["type"], answer["value"]
    if kind == "null":
        return []
    if kind == "list":
        return [_cell_text(v) for v in value if v is not None]
    if kind == "table":
        return [_cell_text(v) for row in value["rows"] for v in row if v is not None]
    if kind == "record":
        return [_cell_text(v) for v in value.values() if v is not None]
    return [_cell_text(value)]


def _cell_text(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict) and "value" in value:  # a record's typed part
        return _cell_text(value["value"])
    return str(value)
